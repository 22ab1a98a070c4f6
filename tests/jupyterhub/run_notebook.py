"""Execute a notebook with nbclient on a kernel that a running Jupyter server starts (a JupyterHub user server).

Run with the Python of the user servers' venv (it has nbclient and jupyter_server): the kernel is the user
server's, started through its REST API with the user's token, and talked to over its websocket channels
(jupyter_server's gateway client), so the code runs with exactly the environment JupyterHub gave that server.

    python run_notebook.py --server http://127.0.0.1:8000/user/scientist --notebook in.ipynb --output out.ipynb \
        [--parameters '{"experiment_name": "x"}']

The token is read from the environment variable JUPYTERHUB_TEST_TOKEN (never from the command line).
"""

import argparse
import asyncio
import faulthandler
import signal
import json
import os
import sys

import nbformat
import websocket
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import GatewayKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def set_parameters(notebook, parameters):
    """Append assignments to the cell tagged `parameters` (the way papermill injects them)."""
    if not parameters:
        return
    for cell in notebook.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += "\n" + "\n".join("%s = %r" % item for item in sorted(parameters.items()))
            return
    raise SystemExit("the notebook has no cell tagged 'parameters'")


def authenticate_websockets(token):
    """The gateway client sends its token on HTTP requests only; the kernel's websocket needs it too."""
    connect = websocket.create_connection

    def create_connection(url, **options):
        options["header"] = list(options.get("header") or []) + ["Authorization: token %s" % token]
        return connect(url, **options)

    websocket.create_connection = create_connection


async def execute(args):
    token = os.environ["JUPYTERHUB_TEST_TOKEN"]
    authenticate_websockets(token)
    gateway = GatewayClient.instance()
    gateway.url = args.server.rstrip("/")
    gateway.auth_token = token
    gateway.request_timeout = float(args.timeout)
    gateway.connect_timeout = 30.0
    notebook = nbformat.read(args.notebook, as_version=4)
    set_parameters(notebook, json.loads(args.parameters))
    manager = GatewayKernelManager(kernel_name=args.kernel)
    client = NotebookClient(notebook, km=manager, timeout=int(args.timeout), kernel_name=args.kernel,
                            startup_timeout=int(args.timeout))
    try:
        await client.async_execute()
    finally:
        nbformat.write(notebook, args.output)
        # The kernel manager is ours, not nbclient's: close the kernel's websocket and shut the kernel down.
        if client.kc is not None:
            client.kc.stop_channels()
        if manager.has_kernel:
            await manager.shutdown_kernel()
    return notebook


def main():
    # A hung run can be asked where it hangs: kill -USR1 <pid> prints every thread's stack.
    faulthandler.register(signal.SIGUSR1)
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--notebook", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--parameters", default="{}")
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--timeout", default="300")
    args = parser.parse_args()
    try:
        asyncio.run(execute(args))
    except CellExecutionError as exc:
        print("cell failed: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
