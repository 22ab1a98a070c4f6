"""The jupyterhub role's cluster configuration, rendered by Ansible and loaded by a real JupyterHub.

tests/jupyterhub/cluster_config/render.yml renders templates/jupyterhub_config.cluster.py.j2 with the role's own
defaults and vars for openshift and kubernetes; tests/jupyterhub/cluster_config/inspect_hub.py loads it with
JupyterHub's own config loader, builds the authenticator and KubeSpawner (with _mock=True, against a kubeconfig whose
API server is a closed port: nothing is called), renders the user pod and its claim, and prints what they became.
Needs jupyterhub, jupyterhub-kubespawner, oauthenticator and jupyterhub-idle-culler (requirements-test.txt) in the
Python of MLOPS_HUB_PYTHON (default: this one).
"""

import json
import os
import socket
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RENDER = os.path.join(HERE, "cluster_config", "render.yml")
INSPECT = os.path.join(HERE, "cluster_config", "inspect_hub.py")
HUB_PYTHON = os.environ.get("MLOPS_HUB_PYTHON", sys.executable)

NAMESPACE = "hub-test"
OPENSHIFT_URL = "https://jupyterhub-hub-test.apps.ocp.example.com"
KUBERNETES_URL = "https://jupyterhub.apps.example.com"
# Credentials in the MLflow connection: they must reach the Secret, never the configuration.
MLFLOW_PASSWORD = "pw-Never-In-The-Config-7319"
MLFLOW_TOKEN = "tok-Never-In-The-Config-5521"

CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}
SECRET_ENV = {key: {"secretKeyRef": {"name": "jupyterhub-mlflow", "key": key, "optional": True}}
              for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")}


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory):
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "closed",
        "clusters": [{"name": "closed", "cluster": {"server": "https://127.0.0.1:%d" % _closed_port()}}],
        "users": [{"name": "nobody", "user": {"token": "not-a-token"}}],
        "contexts": [{"name": "closed", "context": {"cluster": "closed", "user": "nobody"}}]}))
    return str(path)


def render(tmp_path, target, **extra):
    dest = tmp_path / ("jupyterhub_config.%s.py" % target)
    extra_vars = {"mlops_target": target, "render_dest": str(dest), "mlops_jupyterhub_namespace": NAMESPACE}
    extra_vars.update(extra)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    result = subprocess.run(["ansible-playbook", "-i", "localhost,", RENDER, "-e", json.dumps(extra_vars)],
                            capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for secret in (MLFLOW_PASSWORD, MLFLOW_TOKEN):
        assert secret not in result.stdout + result.stderr
    return dest


def inspect(config, kubeconfig, tmp_path, **env):
    run_env = dict(os.environ, KUBECONFIG=kubeconfig, TMPDIR=str(tmp_path), **env)
    # Nothing in the environment may answer for the configuration (the hub pod's env is set from Secrets).
    for name in ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_CALLBACK_URL", "OPENSHIFT_URL", "JUPYTERHUB_DB_URL"):
        if name not in env:
            run_env.pop(name, None)
    result = subprocess.run([HUB_PYTHON, INSPECT, str(config)], capture_output=True, text=True, env=run_env,
                            cwd=str(tmp_path), timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_common(seen, storage_class=None):
    assert seen["spawner_class"] == "kubespawner.spawner.KubeSpawner"
    assert (seen["uid"], seen["gid"], seen["fs_gid"]) == (None, None, None)
    assert seen["namespace"] == NAMESPACE
    assert seen["storage_pvc_ensure"] is True
    claim = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}
    if storage_class:
        claim["storageClassName"] = storage_class
    assert seen["pvc"]["spec"] == claim
    assert seen["pod_volumes"] == [{"name": "home", "persistentVolumeClaim": {"claimName": seen["pvc_name"]}}]
    assert seen["pvc"]["metadata"]["name"] == seen["pvc_name"] and seen["pvc_name"].startswith("claim-")
    assert seen["volume_mounts"] == [{"mountPath": "/home/jovyan", "name": "home"}]
    assert seen["container_security_context"] == RESTRICTED_CONTAINER
    assert seen["automount_service_account_token"] is False
    assert seen["pod_labels"]["app.kubernetes.io/component"] == "singleuser-server"
    assert seen["pod_labels"]["app.kubernetes.io/name"] == "jupyterhub"
    assert seen["resources"] == {"requests": {"cpu": 0.2, "memory": 1073741824},
                                 "limits": {"cpu": 2.0, "memory": 4294967296}}
    for key, ref in SECRET_ENV.items():
        assert seen["env"][key] == ref
    assert seen["hub_connect_url"] == "http://hub.%s.svc:8081" % NAMESPACE
    assert seen["proxy"] == {"should_start": False, "api_url": "http://proxy-api.%s.svc:8001" % NAMESPACE}
    assert seen["cleanup_servers"] is False
    assert seen["services"] == [{"name": "jupyterhub-idle-culler",
                                 "command": [HUB_PYTHON, "-m", "jupyterhub_idle_culler", "--timeout=3600"]}]
    assert seen["load_roles"] == [{"name": "jupyterhub-idle-culler", "scopes": CULLER_SCOPES,
                                   "services": ["jupyterhub-idle-culler"]}]
    # The secrets of the hub come from its environment: none was set, none is configured.
    assert seen["authenticator"]["client_secret"] == ""


def test_openshift_config_loads_with_openshift_oauth_and_kubespawner(tmp_path, kubeconfig):
    config = render(tmp_path, "openshift", mlops_jupyterhub_url=OPENSHIFT_URL, mlops_apps_domain="apps.ocp.example.com",
                    mlops_mlflow_tracking_uri="https://mlflow-mlops-mlflow.apps.ocp.example.com",
                    jupyterhub_allowed_users=["ada"], jupyterhub_allowed_groups=["data-scientists", "ml-admins"],
                    jupyterhub_admin_users=["grace"],
                    mlops_mlflow_connection={"tracking_uri": "https://mlflow.example.com", "token": MLFLOW_TOKEN})
    text = config.read_text()
    assert MLFLOW_TOKEN not in text
    seen = inspect(config, kubeconfig, tmp_path)
    check_common(seen)
    assert seen["authenticator_class"] == "oauthenticator.openshift.OpenShiftOAuthenticator"
    assert seen["pod_security_context"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert seen["env"]["MLFLOW_TRACKING_URI"] == "https://mlflow-mlops-mlflow.apps.ocp.example.com"
    assert seen["db_url"] == "sqlite:////srv/jupyterhub/jupyterhub.sqlite"
    assert seen["public_url"] == OPENSHIFT_URL + "/"
    auth = seen["authenticator"]
    assert auth["client_id"] == "system:serviceaccount:%s:jupyterhub-hub" % NAMESPACE
    assert auth["oauth_callback_url"] == OPENSHIFT_URL + "/hub/oauth_callback"
    assert auth["openshift_url"] == "https://kubernetes.default.svc"
    assert auth["openshift_rest_api_url"] == "https://kubernetes.default.svc"
    assert auth["openshift_auth_api_url"] == "https://oauth-openshift.apps.ocp.example.com"
    assert auth["authorize_url"] == "https://oauth-openshift.apps.ocp.example.com/oauth/authorize"
    assert auth["token_url"] == "https://oauth-openshift.apps.ocp.example.com/oauth/token"
    assert auth["userdata_url"] == "https://kubernetes.default.svc/apis/user.openshift.io/v1/users/~"
    assert auth["scope"] == ["user:info"]
    assert auth["allow_all"] is False
    assert auth["allowed_users"] == ["ada"]
    assert auth["allowed_groups"] == ["data-scientists", "ml-admins"]
    assert auth["manage_groups"] is True
    assert auth["auth_state_groups_key"] == "openshift_user.groups"
    assert auth["admin_users"] == ["grace"]
    bundle = os.path.join(str(tmp_path), "jupyterhub-ca-bundle.crt")
    assert auth["http_request_kwargs"] == {"ca_certs": bundle}
    # The bundle holds the system's CAs (the API server's and the injected ones exist only in the pod).
    assert "BEGIN CERTIFICATE" in open(bundle).read()
    assert '"/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",' in text
    assert '"/etc/jupyterhub/ca/ca-bundle.crt",' in text


def test_kubernetes_config_loads_with_generic_oauth_and_kubespawner(tmp_path, kubeconfig):
    config = render(tmp_path, "kubernetes", mlops_jupyterhub_url=KUBERNETES_URL,
                    jupyterhub_oauth_authorize_url="https://sso.example.com/auth",
                    jupyterhub_oauth_token_url="https://sso.example.com/token",
                    jupyterhub_oauth_userdata_url="https://sso.example.com/userinfo",
                    jupyterhub_allowed_users=[], jupyterhub_allowed_groups=["data-scientists"],
                    jupyterhub_db_secret="jupyterhub-db", jupyterhub_storage_class="fast",
                    mlops_mlflow_connection={"tracking_uri": "https://mlflow.example.com", "username": "ada",
                                             "password": MLFLOW_PASSWORD})
    text = config.read_text()
    assert MLFLOW_PASSWORD not in text
    seen = inspect(config, kubeconfig, tmp_path, JUPYTERHUB_DB_URL="postgresql://hub@db.example.com/jupyterhub")
    check_common(seen, storage_class="fast")
    assert seen["authenticator_class"] == "oauthenticator.generic.GenericOAuthenticator"
    assert seen["pod_security_context"] == {"runAsNonRoot": True, "fsGroup": 100,
                                            "seccompProfile": {"type": "RuntimeDefault"}}
    assert seen["db_url"] == "postgresql://hub@db.example.com/jupyterhub"
    assert seen["public_url"] == KUBERNETES_URL + "/"
    auth = seen["authenticator"]
    assert auth["client_id"] == ""
    assert auth["oauth_callback_url"] == KUBERNETES_URL + "/hub/oauth_callback"
    assert auth["authorize_url"] == "https://sso.example.com/auth"
    assert auth["token_url"] == "https://sso.example.com/token"
    assert auth["userdata_url"] == "https://sso.example.com/userinfo"
    assert auth["username_claim"] == "preferred_username"
    assert auth["scope"] == ["openid", "profile", "email"]
    assert auth["allow_all"] is False
    assert auth["allowed_users"] == []
    assert auth["allowed_groups"] == ["data-scientists"]
    assert auth["manage_groups"] is True
    assert auth["auth_state_groups_key"] == "oauth_user.groups"
    assert auth["http_request_kwargs"] == {"ca_certs": os.path.join(str(tmp_path), "jupyterhub-ca-bundle.crt")}
    assert "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" not in text


def test_allow_all_and_no_culler(tmp_path, kubeconfig):
    config = render(tmp_path, "openshift", mlops_jupyterhub_url=OPENSHIFT_URL, jupyterhub_allow_all=True,
                    jupyterhub_allowed_users=[], jupyterhub_cull_idle_timeout=0)
    seen = inspect(config, kubeconfig, tmp_path)
    assert seen["authenticator"]["allow_all"] is True
    assert seen["authenticator"]["allowed_users"] == []
    assert seen["authenticator"]["allowed_groups"] == []
    assert seen["authenticator"]["manage_groups"] is False
    assert seen["services"] == [] and seen["load_roles"] == []


def test_the_config_reads_the_client_secret_from_the_environment(tmp_path, kubeconfig):
    config = render(tmp_path, "openshift", mlops_jupyterhub_url=OPENSHIFT_URL)
    seen = inspect(config, kubeconfig, tmp_path, OAUTH_CLIENT_SECRET="from-the-secret")
    assert seen["authenticator"]["client_secret"] == "from-the-secret"
    assert "from-the-secret" not in config.read_text()
