import sys

from tools.stack.runner import main

sys.exit(main())
