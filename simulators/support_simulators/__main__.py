import sys

from support_simulators.cli import main

sys.exit(main())
