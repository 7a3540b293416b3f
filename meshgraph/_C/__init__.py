# The compiled operator library (_meshgraph*.so) is built into this folder by setup.py.
