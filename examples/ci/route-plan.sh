#!/usr/bin/env bash
# Validate the route files and plan them against AWS, for a pull request comment.
#
#   examples/ci/route-plan.sh [ENV]        (from the repository root)
#
# Writes $PLAN_COMMENT (default plan-comment.md): the Markdown plan, or the validation
# errors as a table, headed by a marker line so a workflow can update its own comment.
# Exit status: 0 valid (with or without changes), 1 invalid route files, a refused plan
# (guard, errors) or an AWS error. AWS credentials, region and endpoint come from the
# environment as for every reconciler command (read-only permissions are enough).
set -u
env_name="${1:-}"
env_args=()
if [ -n "$env_name" ]; then env_args=(--env "$env_name"); fi
comment="${PLAN_COMMENT:-plan-comment.md}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
marker="<!-- edge-routing-plan:${env_name:-default} -->"
heading="Environment: \`${env_name:-(none)}\`"

if ! reconciler validate routes "${env_args[@]}" --format markdown >"$work/validate.md"; then
  printf '%s\n%s\n\n' "$marker" "$heading" >"$comment"
  cat "$work/validate.md" >>"$comment"
  exit 1
fi
reconciler plan --routes routes "${env_args[@]}" --format markdown --out "$work/plan.json" >"$work/plan.md"
status=$?
printf '%s\n%s\n\n' "$marker" "$heading" >"$comment"
cat "$work/plan.md" >>"$comment"
if [ "$status" -eq 1 ]; then exit 1; fi
exit 0
