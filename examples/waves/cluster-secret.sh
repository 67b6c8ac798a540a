#!/bin/sh
# Makes the kubeconfig Secret a ReleasePlan reaches a cluster through:
#   ./cluster-secret.sh prod-a prod-a.kubeconfig
# The kubeconfig must carry its credentials inline (token or *-data fields, no file paths).
# Two local clusters to try it on: `codedance cluster up --state-dir /tmp/staging` (and
# prod-a), then `codedance cluster kubeconfig --state-dir /tmp/staging` prints its path.
set -eu
name=$1
file=$2
ns=${NAMESPACE:-releases}
kubectl -n "$ns" create secret generic "$name" --from-file=kubeconfig="$file"
kubectl -n "$ns" label secret "$name" deploy.codedance.io/cluster="$name"
