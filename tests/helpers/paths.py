"""Where the repository, the tests and the shared data are."""
import os

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(TESTS_DIR)
# Data made by others, beside the checkout (CI has it there); the tests
# that read it are marked ``needs_shared`` and skip without it.
SHARED_DIR = os.path.join(os.path.dirname(REPO_ROOT), 'shared')
# The reference graph manifests (variables of 45 graphs of the original),
# kept with the tests so that a clone without ../shared checks LI placement.
REFERENCE_GRAPHS_DIR = os.path.join(TESTS_DIR, 'data', 'reference_graphs')
