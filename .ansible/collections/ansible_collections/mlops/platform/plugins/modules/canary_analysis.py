#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mlops.platform contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: canary_analysis
short_description: Judge one step of a canary against its primary on the serving metrics Prometheus holds
version_added: 0.1.0
description:
  - One analysis step of a canary rollout, with Flagger's semantics. It asks Prometheus how the canary (the
    challenger's serving object) did over the last O(interval) and how the primary (the champion's) did, checks the
    canary against absolute limits and against the primary, and returns a decision. It moves no traffic and changes
    no state; the rollout that calls it after each traffic step does that.
  - The canary's request count over the window comes first. Fewer than O(min_requests) gives RV(decision=hold) -
    too little traffic to judge, no check counts, RV(failed_checks) stays, nothing may be promoted.
  - Otherwise every check in O(checks) is judged. All passed gives RV(decision=pass). Any failed gives
    RV(decision=fail) and RV(failed_checks) is O(failed_checks) + 1.
  - RV(rollback) is V(true) once RV(failed_checks) has reached O(threshold), as Flagger rolls back when the failed
    checks reach C(analysis.threshold).
  - No data for the canary (the query returns no series, or NaN) fails that check, like Flagger's
    C(no values found) - a canary that cannot be measured is never promoted. A canary without enough requests is a
    hold before any check counts, so a canary without traffic holds rather than fails.
  - The task fails only when the analysis cannot run (bad input, Prometheus unreachable, a query Prometheus
    rejects), never because of the decision; the caller acts on RV(decision) and RV(rollback).
  - Read-only; never reports a change.
author:
  - mlops.platform contributors (@mlops-platform)
options:
  model:
    description:
      - The model, as the value of O(model_label) on the serving counters. With O(primary_version) and
        O(canary_version) it selects the series of the primary and of the canary.
      - Mutually exclusive with O(primary_selector) and O(canary_selector).
    type: str
  model_label:
    description: Label of the serving counters that holds the model's name (MLServer's C(model)).
    type: str
    default: model
  version_label:
    description:
      - Label of the serving counters that holds the version (MLServer's C(version)).
      - MLServer puts there the version of the request's path, its version key (V(champion), V(4) ...), and
        V(None) for a request to C(/v2/models/<name>/infer) without a version.
    type: str
    default: version
  primary_version:
    description:
      - The primary's value of O(version_label). Requires O(model). Mutually exclusive with O(primary_selector).
    type: str
  canary_version:
    description:
      - The canary's value of O(version_label). Requires O(model). Mutually exclusive with O(canary_selector).
    type: str
  primary_selector:
    description:
      - The primary's series as raw PromQL label matchers, with or without the braces, for example
        V(namespace="models",pod=~"iris-primary-.*"), when model and version labels do not tell the two apart
        (two Deployments of one version key, another exporter).
      - Used for every check, O(latency_metric) included unless O(primary_latency_selector) is set.
    type: str
  canary_selector:
    description: The canary's series as raw PromQL label matchers, like O(primary_selector).
    type: str
  success_metric:
    description: Counter of successful inference requests (MLServer 1.7's).
    type: str
    default: model_infer_request_success_total
  failure_metric:
    description:
      - Counter of failed inference requests (MLServer 1.7's). A target without such a series counts 0 failures.
    type: str
    default: model_infer_request_failure_total
  latency_metric:
    description:
      - Request duration histogram of the V(latency_p95) check, without its C(_bucket) suffix. The default is
        MLServer's REST server histogram, the one the C(mlops.platform.prometheus) role alerts on.
    type: str
    default: rest_server_request_duration_seconds
  latency_selector:
    description:
      - Label matchers every O(latency_metric) query adds, to count inference requests only; V('') for all requests.
    type: str
    default: path=~"/v2/models/.+/infer"
  primary_latency_selector:
    description:
      - Label matchers of the primary's O(latency_metric) series.
      - Required with a V(latency_p95) check when the targets are given by O(model) and versions. MLServer's REST
        histogram has no model or version label, so only the scrape's labels tell the primary's requests from the
        canary's, for example V(pod=~"iris-primary-.*"). With O(primary_selector) it defaults to that.
    type: str
  canary_latency_selector:
    description: Label matchers of the canary's O(latency_metric) series, like O(primary_latency_selector).
    type: str
  interval:
    description:
      - The window every query looks back over (the range of C(rate) and C(increase)), a Prometheus duration.
        Flagger's metric C(interval). Make it at least twice the scrape interval.
      - Replaces C($interval) in custom checks.
    type: str
    default: 1m
  min_requests:
    description:
      - The fewest canary requests in the window (successful + failed) that are judged. Fewer give
        RV(decision=hold).
      - The default holds only a canary without any request; raise it (for example V(100)) so that a handful of
        requests can neither fail nor pass a canary.
    type: int
    default: 1
  checks:
    description:
      - The checks of the canary; at least one, each name once. Every check's value is one number, for the canary
        and for the primary.
      - V(error_ratio) - failed / all inference requests over the window (O(failure_metric) /
        (O(success_metric) + O(failure_metric))).
      - V(latency_p95) - the 95th percentile of O(latency_metric) over the window, in seconds.
      - Any other name is a custom check and needs O(checks[].query).
      - An absolute limit and a limit relative to the primary may be combined; the canary must keep both.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: V(error_ratio), V(latency_p95), or the name of a custom check (shown in its verdict row).
        type: str
        required: true
      max:
        description: The canary's value must be at most this. Not negative for the built-in checks.
        type: float
      max_ratio:
        description:
          - The canary's value must be at most this times the primary's, for example V(1.5) for "no more than 50%
            worse than the primary". Not negative.
          - Against a primary at V(0) it allows only V(0); combine it with O(checks[].max) in a check of its own
            for error ratios, where a primary without errors is common.
          - No data for the primary fails the check, since it cannot be compared.
        type: float
      min:
        description: Custom checks only. The canary's value must be at least this.
        type: float
      query:
        description:
          - Custom checks only. A PromQL template that returns one number. C($selector) is replaced by the label
            matchers of the canary (then of the primary), without braces, and C($interval) by O(interval), for
            example C(sum(rate(model_infer_request_duration_sum{$selector}[$interval])) /
            sum(rate(model_infer_request_duration_count{$selector}[$interval]))).
          - It must contain C($selector). Any other C($name) is refused.
        type: str
  failed_checks:
    description:
      - The failed checks so far in this rollout (RV(failed_checks) of the previous step; V(0) at the first).
    type: int
    default: 0
  threshold:
    description:
      - The failed checks that make a rollback, Flagger's C(analysis.threshold). Its default is Flagger's too -
        V(1), roll back at the first failed check; Flagger's examples use V(5) to ride out a noisy step.
    type: int
    default: 1
  time:
    description:
      - Evaluation time of every query, Unix seconds or RFC 3339 (V(2024-01-01T00:30:00Z)), to replay a past window.
      - By default the time the module starts; every query of the step uses that one instant.
    type: raw
  repeat_every:
    description:
      - V(0) (the default) - one analysis round, judged now.
      - A number of seconds - analysis rounds, each after waiting this long (so that its window holds traffic at the
        weights just set), until one decides - RV(decision=pass), or RV(rollback) - as Flagger re-runs a step every
        C(analysis.interval) until it passes. A hold, or a failed check below O(threshold), waits for the next round;
        RV(failed_checks) adds up over the rounds.
      - Set it to the scrape interval or more, and O(interval) to at least twice the scrape interval.
    type: int
    default: 0
  timeout:
    description:
      - With O(repeat_every) - the seconds the rounds may take without a decision. Then they end with
        RV(timed_out=true) and the last round's RV(decision) (Flagger's progress deadline); the caller decides what
        that means - the rollout of M(mlops.platform.mlflow_model_rollout) rolls back.
      - At least O(repeat_every).
    type: int
    default: 600
extends_documentation_fragment:
  - mlops.platform.prometheus
  - mlops.platform.prometheus.action_group
  - ansible.builtin.action_common_attributes
  - mlops.platform.mlflow.read_only
notes:
  - The request count and the error ratio count requests in MLServer's counters, so requests that never reached
    the model server (refused by the router, timed out before it) are not in them.
  - On the local target the primary and the canary are two MLServer processes, scraped as two Prometheus jobs, so
    the job label tells their series apart (O(primary_selector) V(job="mlserver",model="iris")); the REST latency
    histogram too (O(primary_latency_selector) V(job="mlserver")).
seealso:
  - module: mlops.platform.mlflow_model_gate
  - name: Flagger metrics analysis
    description: The semantics of interval, threshold and metric checks this module follows.
    link: https://docs.flagger.app/usage/metrics
"""

EXAMPLES = r"""
- name: Judge canary version 4 against primary version 3 after a traffic step
  mlops.platform.canary_analysis:
    url: http://127.0.0.1:9090
    model: fraud-classifier
    primary_version: champion   # requests to /v2/models/<name>/versions/champion/...; the unversioned endpoint is "None"
    canary_version: "4"
    interval: 1m
    min_requests: 100
    checks:
      - name: error_ratio
        max: 0.05
      - name: mean_latency
        query: >-
          sum(rate(model_infer_request_duration_sum{$selector}[$interval]))
          / sum(rate(model_infer_request_duration_count{$selector}[$interval]))
        max: 0.2
        max_ratio: 1.5
    failed_checks: "{{ canary_failed_checks }}"   # the previous step's failed_checks; 0 at the first
    threshold: 5
  register: __analysis

- name: Roll back when the analysis says so
  ansible.builtin.debug:
    msg: "{{ __analysis.msg }}"
  when: __analysis.rollback

- name: On a cluster, two Deployments - the latency histogram is told apart by pod
  mlops.platform.canary_analysis:
    url: https://thanos-querier.openshift-monitoring.svc:9091
    token: "{{ lookup('ansible.builtin.file', '/var/run/secrets/kubernetes.io/serviceaccount/token') }}"
    ca_path: /var/run/secrets/kubernetes.io/serviceaccount/service-ca.crt
    primary_selector: 'namespace="models",pod=~"fraud-classifier-primary-.*"'
    canary_selector: 'namespace="models",pod=~"fraud-classifier-canary-.*"'
    checks:
      - {name: error_ratio, max: 0.01}
      - {name: latency_p95, max: 0.5, max_ratio: 1.2}
  register: __analysis

- name: Set the connection once for every Prometheus module
  module_defaults:
    group/mlops.platform.prometheus:
      url: "{{ mlops_prometheus_url }}"
  block:
    - name: Replay a past window
      mlops.platform.canary_analysis:
        primary_selector: 'model="iris",version="1"'
        canary_selector: 'model="iris",version="2"'
        checks:
          - {name: error_ratio, max: 0.05, max_ratio: 2}
        time: "2024-01-01T00:30:00Z"
"""

RETURN = r"""
decision:
  description:
    - V(pass) (every check passed, enough requests), V(hold) (fewer than O(min_requests) requests; no check
      counted) or V(fail) (a check failed).
  returned: always
  type: str
  sample: fail
rollback:
  description: Whether RV(failed_checks) has reached O(threshold), so the canary must be rolled back.
  returned: always
  type: bool
  sample: false
failed_checks:
  description: The failed checks after this step - O(failed_checks), plus one when RV(decision=fail).
  returned: always
  type: int
  sample: 1
threshold:
  description: O(threshold).
  returned: always
  type: int
  sample: 5
requests:
  description:
    - The canary's requests over the window (successful + failed), as Prometheus's C(increase) computes them, so
      it may be fractional.
  returned: always
  type: float
  sample: 1200.0
min_requests:
  description: O(min_requests).
  returned: always
  type: int
  sample: 100
interval:
  description: O(interval).
  returned: always
  type: str
  sample: 1m
time:
  description: The evaluation time of every query - O(time), or the Unix time the module started.
  returned: always
  type: raw
  sample: 1704067500
canary_selector:
  description: The label matchers of the canary's series (without braces).
  returned: always
  type: str
  sample: model="iris",version="2"
primary_selector:
  description: The label matchers of the primary's series (without braces).
  returned: always
  type: str
  sample: model="iris",version="1"
verdicts:
  description:
    - One row per check, in the order of O(checks). On RV(decision=hold) the rows are computed and shown but do not
      count.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: The check's name.
      type: str
      sample: error_ratio
    canary:
      description: The canary's value; null when there is no data (or it is infinite, see RV(verdicts[].reason)).
      type: float
      sample: 0.2
    primary:
      description: The primary's value; null when there is no data (or it is infinite).
      type: float
      sample: 0.0125
    max:
      description: O(checks[].max), or null.
      type: float
      sample: 0.05
    max_ratio:
      description: O(checks[].max_ratio), or null.
      type: float
      sample: 1.5
    min:
      description: O(checks[].min), or null.
      type: float
      sample: null
    limit:
      description:
        - The upper bound the canary was held to - the lower of O(checks[].max) and O(checks[].max_ratio) times the
          primary's value; null when there is none (a O(checks[].min) only check, or no data for the primary).
      type: float
      sample: 0.01875
    passed:
      description: Whether the canary passed the check.
      type: bool
      sample: false
    reason:
      description: Why, in words, with the values compared.
      type: str
      sample: canary error ratio 0.2 > max 0.05 and > 1.5 x primary 0.0125 = 0.01875
queries:
  description: Every PromQL query run, in order, for debugging.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: V(requests) or the check's name.
      type: str
      sample: error_ratio
    target:
      description: V(canary) or V(primary).
      type: str
      sample: canary
    query:
      description: The query as sent.
      type: str
      sample: histogram_quantile(0.95, sum by (le) (rate(rest_server_request_duration_seconds_bucket{pod=~"iris-canary-.*"}[1m])))
timed_out:
  description: Whether the rounds of O(repeat_every) ended at O(timeout) without a decision. Always V(false) for one round.
  returned: always
  type: bool
  sample: false
rounds:
  description: Every analysis round, in order (one without O(repeat_every)).
  returned: always
  type: list
  elements: dict
  contains:
    time:
      description: The round's evaluation time.
      type: raw
      sample: 1704067500
    decision:
      description: The round's decision.
      type: str
      sample: hold
    requests:
      description: The canary's requests in the round's window.
      type: float
      sample: 4.0
    failed_checks:
      description: The failed checks after the round.
      type: int
      sample: 0
    msg:
      description: The round's one-line summary.
      type: str
      sample: "hold: 4 canary requests in 10s, fewer than min_requests 10; failed checks 0 of threshold 1"
msg:
  description: One line that says what was decided and why.
  returned: always
  type: str
  sample: "fail: canary error ratio 0.2 > max 0.05; failed checks 1 of threshold 5"
"""

import time

from ansible_collections.mlops.platform.plugins.module_utils._api_module import ApiModule
from ansible_collections.mlops.platform.plugins.module_utils._canary import (
    ANALYSIS_ARGSPEC,
    ANALYSIS_MUTUALLY_EXCLUSIVE,
    ANALYSIS_REQUIRED_BY,
    ANALYSIS_REQUIRED_ONE_OF,
    ANALYSIS_REQUIRED_TOGETHER,
    analyze_until_decided,
)
from ansible_collections.mlops.platform.plugins.module_utils._prometheus_client import (
    PROMETHEUS_CONNECTION_ARGSPEC,
    prometheus_client,
)


def main():
    spec = dict(PROMETHEUS_CONNECTION_ARGSPEC)
    spec.update(ANALYSIS_ARGSPEC)
    module = ApiModule(
        argument_spec=spec,
        mutually_exclusive=ANALYSIS_MUTUALLY_EXCLUSIVE,
        required_one_of=ANALYSIS_REQUIRED_ONE_OF,
        required_together=ANALYSIS_REQUIRED_TOGETHER,
        required_by=ANALYSIS_REQUIRED_BY,
        supports_check_mode=True,
    )
    module.run(lambda m: analyze_until_decided(m.params, prometheus_client(m.params).query, time.time, time.sleep))


if __name__ == "__main__":
    main()
