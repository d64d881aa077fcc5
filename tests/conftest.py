"""Test-session settings.

CI machines have two cores, and several tests start extra processes (DDP, torchrun,
fresh interpreters). OpenMP's spinning threads make oversubscribed CPUs tens of times
slower, so every torch in the session (and in the processes it starts) uses one
thread. Set before any test module imports torch.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
