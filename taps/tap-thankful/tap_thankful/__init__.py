"""tap-thankful: Thankful's Analytics API as daily, incremental facts (Meltano SDK)."""
