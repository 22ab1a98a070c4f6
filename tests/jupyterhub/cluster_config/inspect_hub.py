"""Load a jupyterhub_config.py with a real JupyterHub and print, as JSON, what its spawner and authenticator became.

Run with the Python that has jupyterhub, jupyterhub-kubespawner, oauthenticator and jupyterhub-idle-culler:
    python inspect_hub.py /path/to/jupyterhub_config.py
KubeSpawner is built (in a running event loop, as the hub does) with _mock=True against the kubeconfig in $KUBECONFIG (a closed port: nothing is called).
"""

import asyncio
import json
import sys

from jupyterhub.app import JupyterHub
from kubernetes_asyncio.client import ApiClient


async def inspect(path):
    app = JupyterHub()
    app.load_config_file(path)
    spawner_class = app.spawner_class
    authenticator_class = app.authenticator_class
    authenticator = authenticator_class(config=app.config)
    spawner = spawner_class(config=app.config, _mock=True)
    # The manifests as the API server would receive them (camelCase dicts).
    serialize = ApiClient().sanitize_for_serialization
    pod = serialize(await spawner.get_pod_manifest())
    pvc = serialize(spawner.get_pvc_manifest())
    container = pod["spec"]["containers"][0]
    out = {
        "spawner_class": "%s.%s" % (spawner_class.__module__, spawner_class.__name__),
        "authenticator_class": "%s.%s" % (authenticator_class.__module__, authenticator_class.__name__),
        "uid": spawner.uid, "gid": spawner.gid, "fs_gid": spawner.fs_gid,
        "namespace": spawner.namespace,
        "image": spawner.image,
        "storage_pvc_ensure": spawner.storage_pvc_ensure,
        "pvc_name": spawner.pvc_name,
        "pvc": pvc,
        "pod_volumes": pod["spec"]["volumes"],
        "pod_security_context": pod["spec"].get("securityContext"),
        "container_security_context": container.get("securityContext"),
        "automount_service_account_token": pod["spec"].get("automountServiceAccountToken"),
        "pod_labels": pod["metadata"]["labels"],
        "volume_mounts": container["volumeMounts"],
        "resources": container["resources"],
        "env": {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]},
        "hub_connect_url": app.hub_connect_url,
        "public_url": app.public_url,
        "proxy": {"should_start": app.config.ConfigurableHTTPProxy.should_start,
                  "api_url": app.config.ConfigurableHTTPProxy.api_url},
        "db_url": app.db_url,
        "cleanup_servers": app.cleanup_servers,
        "authenticator": {
            "allow_all": authenticator.allow_all,
            "allowed_users": sorted(authenticator.allowed_users),
            "allowed_groups": sorted(getattr(authenticator, "allowed_groups", set())),
            "manage_groups": authenticator.manage_groups,
            "admin_users": sorted(authenticator.admin_users),
            "client_id": authenticator.client_id,
            "client_secret": authenticator.client_secret,
            "oauth_callback_url": authenticator.oauth_callback_url,
            "authorize_url": authenticator.authorize_url,
            "token_url": authenticator.token_url,
            "userdata_url": authenticator.userdata_url,
            "scope": list(authenticator.scope),
            "http_request_kwargs": authenticator.http_request_kwargs,
        },
        "services": app.services,
        "load_roles": app.load_roles,
    }
    if authenticator_class.__name__ == "OpenShiftOAuthenticator":
        out["authenticator"].update({
            "openshift_url": authenticator.openshift_url,
            "openshift_auth_api_url": authenticator.openshift_auth_api_url,
            "openshift_rest_api_url": authenticator.openshift_rest_api_url,
            "auth_state_groups_key": authenticator.auth_state_groups_key,
        })
    else:
        out["authenticator"].update({"username_claim": authenticator.username_claim,
                                     "auth_state_groups_key": authenticator.auth_state_groups_key})
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(inspect(sys.argv[1])), default=str))
