import sys

from sniper.cli import main

sys.exit(main())
