import sys

from certreg.cli import main

sys.exit(main())
