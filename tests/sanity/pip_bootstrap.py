"""Offline stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test creates a virtual environment without pip for each sanity test and
runs a "get-pip" script, fetched from a CI file server, to put pip into it. That
server is unreachable here, but PyPI is not: this script seeds pip from the
interpreter's own ensurepip wheel, then lets that pip install what ansible-test
asked for (pip==<version>, setuptools, wheel ...) from the configured index.

`make sanity` copies it to ~/.ansible/test/cache/get_pip_<version>.py, where
ansible-test looks before it downloads anything. ansible-test runs it with the
venv's interpreter and the pip install arguments in sys.argv[1:].
"""

import subprocess
import sys


# get-pip's own switches: they ask it NOT to install setuptools/wheel, which pip install never does unasked.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)


if __name__ == "__main__":
    main()
