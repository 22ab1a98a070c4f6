"""Every CRD fixture is served, and accepts the kind of object our roles write.

Each example below is created as a server dry run with strict field validation, so a field the
fixture does not declare fails the test instead of being pruned silently.
"""

import functools
import json

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes.client.rest import ApiException

from conftest import fixture_crds, require_kind

EXAMPLES = yaml.safe_load_all("""
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: mlflow}
spec:
  host: mlflow.apps.example.com
  path: /
  to: {kind: Service, name: mlflow, weight: 100}
  port: {targetPort: 5000}
  tls: {termination: edge, insecureEdgeTerminationPolicy: Redirect}
  wildcardPolicy: None
---
apiVersion: project.openshift.io/v1
kind: Project
metadata: {name: mlops-fixture-example}
---
apiVersion: operators.coreos.com/v1
kind: OperatorGroup
metadata: {name: mlops}
spec:
  targetNamespaces: [mlops]
  upgradeStrategy: {name: Default}
---
apiVersion: operators.coreos.com/v1alpha1
kind: Subscription
metadata: {name: grafana-operator}
spec:
  name: grafana-operator
  channel: v5
  source: community-operators
  sourceNamespace: openshift-marketplace
  installPlanApproval: Automatic
  config:
    env: [{name: WATCH_NAMESPACE, value: mlops}]
    resources: {requests: {cpu: 100m, memory: 128Mi}}
---
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata: {name: example.v1.0.0}
spec:
  displayName: Example
  version: 1.0.0
  installModes: [{type: OwnNamespace, supported: true}]
  install:
    strategy: deployment
    spec:
      deployments: [{name: example-operator, spec: {replicas: 1}}]
---
apiVersion: operators.coreos.com/v1alpha1
kind: InstallPlan
metadata: {name: install-abcde}
spec:
  approval: Manual
  approved: false
  clusterServiceVersionNames: [example.v1.0.0]
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: train}
spec:
  params: [{name: model-name, type: string, default: iris}]
  workspaces: [{name: source}]
  results: [{name: run-id, description: MLflow run id}]
  steps:
    - name: train
      image: registry.invalid/mlops/trainer:1.0
      workingDir: $(workspaces.source.path)
      script: |
        python -m train --model "$(params.model-name)"
      env: [{name: MLFLOW_TRACKING_URI, value: http://mlflow:5000}]
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: rollout}
spec:
  params: [{name: model-name, type: string}]
  workspaces: [{name: source}]
  tasks:
    - name: train
      taskRef: {name: train, kind: Task}
      params: [{name: model-name, value: $(params.model-name)}]
      workspaces: [{name: source, workspace: source}]
    - name: deploy
      runAfter: [train]
      taskRef: {name: deploy}
      when: [{input: $(tasks.train.results.run-id), operator: notin, values: [""]}]
  finally:
    - name: report
      taskRef: {name: report}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: rollout-run}
spec:
  pipelineRef: {name: rollout}
  params: [{name: model-name, value: iris}]
  timeouts: {pipeline: 1h0m0s}
  taskRunTemplate: {serviceAccountName: pipeline}
  workspaces:
    - name: source
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: rollout}
spec:
  params: [{name: model-name, default: iris}]
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata: {generateName: rollout-}
      spec:
        pipelineRef: {name: rollout}
        params: [{name: model-name, value: $(tt.params.model-name)}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerBinding
metadata: {name: model-registered}
spec:
  params: [{name: model-name, value: $(body.model.name)}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: mlflow-webhook}
spec:
  serviceAccountName: pipeline
  triggers:
    - name: model-registered
      bindings: [{ref: model-registered}]
      template: {ref: rollout}
  resources:
    kubernetesResource: {serviceType: ClusterIP}
---
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata: {name: iris-canary}
spec:
  protocol: v2
  annotations: {seldon.io/no-engine: "true"}
  predictors:
    - name: canary
      replicas: 1
      traffic: 10
      labels: {mlops.platform/role: canary}
      componentSpecs:
        - spec:
            containers: [{name: classifier, resources: {requests: {cpu: 100m}}}]
      graph:
        name: classifier
        type: MODEL
        implementation: MLFLOW_SERVER
        modelUri: s3://models/iris/2
        envSecretRefName: model-storage
        parameters: [{name: method, value: predict, type: STRING}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: iris}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: iris}}
  namespaceSelector: {matchNames: [mlops-serving]}
  endpoints:
    - port: http
      path: /metrics
      interval: 15s
      scrapeTimeout: 10s
      relabelings: [{sourceLabels: [__meta_kubernetes_pod_name], targetLabel: pod}]
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: mlflow}
spec:
  selector: {matchExpressions: [{key: app, operator: In, values: [mlflow]}]}
  podMetricsEndpoints: [{port: metrics, interval: 30s}]
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: serving}
spec:
  groups:
    - name: serving
      interval: 30s
      rules:
        - record: model:request_latency_seconds:p99
          expr: histogram_quantile(0.99, sum by (le, model) (rate(model_request_duration_seconds_bucket[5m])))
        - alert: ModelErrorRateHigh
          expr: sum(rate(model_errors_total[5m])) / sum(rate(model_requests_total[5m])) > 0.05
          for: 5m
          labels: {severity: warning}
          annotations: {summary: Canary error rate above 5 %}
---
apiVersion: grafana.integreatly.org/v1beta1
kind: Grafana
metadata: {name: grafana, labels: {dashboards: mlops}}
spec:
  version: 11.3.0
  config:
    auth: {disable_login_form: "false"}
    security: {admin_user: admin}
  route: {spec: {tls: {termination: edge}}}
---
apiVersion: grafana.integreatly.org/v1beta1
kind: GrafanaDatasource
metadata: {name: prometheus}
spec:
  instanceSelector: {matchLabels: {dashboards: mlops}}
  datasource:
    name: Prometheus
    type: prometheus
    access: proxy
    url: https://thanos-querier.openshift-monitoring.svc:9091
    isDefault: true
    jsonData: {tlsSkipVerify: true, httpHeaderName1: Authorization}
    secureJsonData: {httpHeaderValue1: "Bearer ${TOKEN}"}
  valuesFrom:
    - targetPath: secureJsonData.httpHeaderValue1
      valueFrom: {secretKeyRef: {name: grafana-token, key: token}}
---
apiVersion: grafana.integreatly.org/v1beta1
kind: GrafanaDashboard
metadata: {name: model-serving}
spec:
  instanceSelector: {matchLabels: {dashboards: mlops}}
  folder: MLOps
  resyncPeriod: 10m
  configMapRef: {name: dashboards, key: model-serving.json}
  datasources: [{inputName: DS_PROMETHEUS, datasourceName: Prometheus}]
---
apiVersion: project.openshift.io/v1
kind: ProjectRequest
metadata: {name: mlops-fixture-request}
displayName: MLOps
description: models and their serving
---
apiVersion: oauth.openshift.io/v1
kind: OAuthClient
metadata: {name: jupyterhub}
secret: not-a-real-secret
redirectURIs: [https://jupyterhub-mlops.apps.example.com/hub/oauth_callback]
grantMethod: auto
accessTokenMaxAgeSeconds: 86400
---
apiVersion: console.openshift.io/v1
kind: ConsoleLink
metadata: {name: mlflow}
spec:
  href: https://mlflow-mlops.apps.example.com
  text: MLflow
  location: ApplicationMenu
  applicationMenu: {section: MLOps, imageURL: https://mlflow-mlops.apps.example.com/static-files/favicon.ico}
---
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: mlops-nonroot}
allowHostDirVolumePlugin: false
allowHostIPC: false
allowHostNetwork: false
allowHostPID: false
allowHostPorts: false
allowPrivilegedContainer: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: false
requiredDropCapabilities: [ALL]
runAsUser: {type: MustRunAsNonRoot}
seLinuxContext: {type: MustRunAs}
fsGroup: {type: RunAsAny}
supplementalGroups: {type: RunAsAny}
volumes: [configMap, emptyDir, persistentVolumeClaim, projected, secret]
users: [system:serviceaccount:mlops:mlflow]
---
apiVersion: operators.coreos.com/v1alpha1
kind: CatalogSource
metadata: {name: mlops-catalog}
spec:
  sourceType: grpc
  image: registry.invalid/mlops/catalog:latest
  displayName: MLOps catalog
  publisher: mlops.platform
  updateStrategy: {registryPoll: {interval: 30m}}
---
apiVersion: packages.operators.coreos.com/v1
kind: PackageManifest
metadata: {name: example-operator}
spec: {}
status:
  catalogSource: mlops-catalog
  catalogSourceNamespace: openshift-marketplace
  packageName: example-operator
  defaultChannel: stable
  channels:
    - name: stable
      currentCSV: example-operator.v1.0.0
      currentCSVDesc:
        version: 1.0.0
        installModes: [{type: AllNamespaces, supported: true}]
      entries: [{name: example-operator.v1.0.0, version: 1.0.0}]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: train-run}
spec:
  taskRef: {name: train}
  params: [{name: model-name, value: iris}]
  serviceAccountName: pipeline
  timeout: 30m0s
  workspaces: [{name: source, emptyDir: {}}]
---
apiVersion: grafana.integreatly.org/v1beta1
kind: GrafanaFolder
metadata: {name: mlops}
spec:
  instanceSelector: {matchLabels: {dashboards: mlops}}
  title: MLOps
  permissions: '{"items": [{"role": "Viewer", "permission": 1}]}'
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: mlops-fixture-class}
spec:
  controllerName: example.com/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: serving}
spec:
  gatewayClassName: mlops-standin
  listeners:
    - name: http
      port: 80
      protocol: HTTP
      allowedRoutes: {namespaces: {from: Same}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: iris}
spec:
  parentRefs: [{name: serving, sectionName: http}]
  hostnames: [iris.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /v2/models/iris}}]
      backendRefs:
        - {name: iris-primary, port: 8000, weight: 90}
        - {name: iris-canary, port: 8000, weight: 10}
---
apiVersion: objectbucket.io/v1alpha1
kind: ObjectBucketClaim
metadata: {name: mlflow-artifacts}
spec:
  generateBucketName: mlflow
  storageClassName: openshift-storage.noobaa.io
  additionalConfig: {maxSize: 10Gi}
---
apiVersion: objectbucket.io/v1alpha1
kind: ObjectBucket
metadata: {name: obc-mlops-mlflow-artifacts}
spec:
  storageClassName: openshift-storage.noobaa.io
  reclaimPolicy: Delete
  claimRef: {namespace: mlops, name: mlflow-artifacts}
  endpoint: {bucketHost: s3.openshift-storage.svc, bucketPort: 443, bucketName: mlflow-1234, region: us-east-1}
""")
EXAMPLES = [doc for doc in EXAMPLES if doc]


def _plural_and_scope(cluster, doc):
    group, version = doc["apiVersion"].split("/")
    ext = k8s_client.ApiextensionsV1Api(cluster.api)
    for crd in ext.list_custom_resource_definition().items:
        if crd.spec.group == group and crd.spec.names.kind == doc["kind"]:
            assert version in [v.name for v in crd.spec.versions if v.served]
            return group, version, crd.spec.names.plural, crd.spec.scope
    raise AssertionError("no CRD serves %s %s" % (doc["apiVersion"], doc["kind"]))


def test_every_fixture_kind_has_an_example():
    kinds = [d["spec"]["names"]["kind"] for d in fixture_crds()]
    assert len(kinds) == len(set(kinds)), "a kind is defined twice"
    assert set(kinds) == {d["kind"] for d in EXAMPLES}


def _contains(actual, expected, path="$"):
    """Every field of expected is in actual with the same value (defaults may add fields)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        for key, value in expected.items():
            assert key in actual, "%s.%s was dropped" % (path, key)
            _contains(actual[key], value, "%s.%s" % (path, key))
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for index, (got, want) in enumerate(zip(actual, expected)):
            _contains(got, want, "%s[%d]" % (path, index))
    else:
        assert actual == expected, "%s: %r != %r" % (path, actual, expected)


@pytest.mark.parametrize("doc", EXAMPLES, ids=[d["kind"] for d in EXAMPLES])
def test_fixture_accepts_a_role_style_object(cluster, request, doc):
    require_kind(cluster, doc["apiVersion"], doc["kind"])     # before a namespace is made for nothing
    namespace = request.getfixturevalue("namespace")
    group, version, plural, scope = _plural_and_scope(cluster, doc)
    custom = cluster.custom()
    if scope == "Cluster":
        created = custom.create_cluster_custom_object(
            group, version, plural, doc, dry_run="All", field_validation="Strict")
    else:
        created = custom.create_namespaced_custom_object(
            group, version, namespace, plural, doc, dry_run="All", field_validation="Strict")
    _contains(created, doc)


REFUSED = [
    ({"apiVersion": "console.openshift.io/v1", "kind": "ConsoleLink", "metadata": {"name": "plain-http"},
      "spec": {"href": "http://mlflow.example.com", "text": "MLflow", "location": "HelpMenu"}},
     'ConsoleLink.console.openshift.io "plain-http" is invalid: spec.href: Invalid value: "http://mlflow.example.com": '
     'spec.href in body should match \'^https://\''),
    ({"apiVersion": "console.openshift.io/v1", "kind": "ConsoleLink", "metadata": {"name": "no-section"},
      "spec": {"href": "https://mlflow.example.com", "text": "MLflow", "location": "ApplicationMenu"}},
     'ConsoleLink.console.openshift.io "no-section" is invalid: spec: Invalid value: '
     "applicationMenu is required when location is ApplicationMenu"),
    ({"apiVersion": "oauth.openshift.io/v1", "kind": "OAuthClient", "metadata": {"name": "hub"}, "grantMethod": "auto-approve"},
     'OAuthClient.oauth.openshift.io "hub" is invalid: grantMethod: Unsupported value: "auto-approve": '
     'supported values: "auto", "prompt"'),
    ({"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "both"},
      "spec": {"taskRef": {"name": "train"}, "taskSpec": {"steps": [{"image": "registry.invalid/x"}]}}},
     'TaskRun.tekton.dev "both" is invalid: spec: Invalid value: '
     "expected exactly one, got both: spec.taskRef, spec.taskSpec"),
    ({"apiVersion": "grafana.integreatly.org/v1beta1", "kind": "GrafanaFolder", "metadata": {"name": "two-parents"},
      "spec": {"instanceSelector": {}, "title": "MLOps", "parentFolderUID": "a", "parentFolderRef": "b"}},
     'GrafanaFolder.grafana.integreatly.org "two-parents" is invalid: spec: Invalid value: '
     "Only one of parentFolderUID or parentFolderRef can be set"),
    ({"apiVersion": "security.openshift.io/v1", "kind": "SecurityContextConstraints", "metadata": {"name": "half"},
      "allowPrivilegedContainer": False},
     'SecurityContextConstraints.security.openshift.io "half" is invalid: [allowHostDirVolumePlugin: Required value, '
     "allowHostIPC: Required value, allowHostNetwork: Required value, allowHostPID: Required value, "
     "allowHostPorts: Required value, readOnlyRootFilesystem: Required value]"),
    ({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "heavy"},
      "spec": {"rules": [{"backendRefs": [{"name": "iris", "port": 8000, "weight": 1000001}]}]}},
     'HTTPRoute.gateway.networking.k8s.io "heavy" is invalid: spec.rules[0].backendRefs[0].weight: Invalid value: '
     "1000001: spec.rules[0].backendRefs[0].weight in body should be less than or equal to 1000000"),
    ({"apiVersion": "objectbucket.io/v1alpha1", "kind": "ObjectBucketClaim", "metadata": {"name": "odd"},
      "spec": {"storageClassName": "openshift-storage.noobaa.io"}, "status": {"phase": "Lost"}},
     None),     # status is a subresource: ignored on create, so this one is accepted
]


@pytest.mark.parametrize("doc, message", REFUSED, ids=[d["metadata"]["name"] for d, _m in REFUSED])
def test_fixture_refuses_what_the_real_api_refuses(cluster, request, doc, message):
    require_kind(cluster, doc["apiVersion"], doc["kind"])
    group, version, plural, scope = _plural_and_scope(cluster, doc)
    custom = cluster.custom()
    kwargs = {"dry_run": "All", "field_validation": "Strict"}
    if scope == "Cluster":
        create = functools.partial(custom.create_cluster_custom_object, group, version, plural, doc, **kwargs)
    else:
        create = functools.partial(custom.create_namespaced_custom_object, group, version,
                                   request.getfixturevalue("namespace"), plural, doc, **kwargs)
    if message is None:
        assert "status" not in create()
        return
    with pytest.raises(ApiException) as info:
        create()
    assert info.value.status == 422
    assert json.loads(info.value.body)["message"] == message
