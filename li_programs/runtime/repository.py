"""Where the checkout is: the project runs from its repository (an editable
install), whose config/, runners/ and dataset paths the programs use."""
import os

# li_programs/runtime/repository.py -> the repository root.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
