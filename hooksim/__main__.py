import sys

from hooksim.cli import main

sys.exit(main())
