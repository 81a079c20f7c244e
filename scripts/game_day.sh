#!/usr/bin/env bash
# The steps of .github/workflows/game-day.yml (docs/dr.md §6), run from the repository root
# with `pulumi stack output --json` of the environment's stacks saved as outputs/<stack>.json
# (the global stack's file name ends in -global.json) and the runbook's virtualenv in .venv.
#
#   scripts/game_day.sh smoke            the smoke test against every regional stack's API
#   scripts/game_day.sh switch REGION    python -m dr switchover --to REGION (ARC plan execution)
#   scripts/game_day.sh report           the plan executions ARC recorded
#
# SMOKE_USERNAME / SMOKE_PASSWORD sign the smoke test in (a user of every region's pool).
set -euo pipefail

environment=${GAME_DAY_ENVIRONMENT:-dev}
global=$(compgen -G "outputs/*-global.json" | head -n 1)
regional=()
for file in outputs/*.json; do
    [[ "$file" == "$global" ]] || regional+=("$file")
done
outputs=(--outputs "$global")
for file in "${regional[@]}"; do
    outputs+=(--outputs "$file")
done

case "${1:-}" in
smoke)
    secret=$(jq -r .originVerifySecretName "$global")
    for file in "${regional[@]}"; do
        region=$(jq -r .region "$file")
        echo "--- smoke test $region"
        SMOKE_CLIENT_ID=$(jq -r .userPoolClientIds.web "$file") \
            .venv/bin/python scripts/smoke.py "$(jq -r .apiUrl "$file")" \
            --cognito-region "$region" --origin-verify-secret "$secret"
    done
    ;;
switch)
    .venv/bin/python -m dr switchover --to "${2:?the region to move the writer to}" \
        --environment "$environment" --yes "${outputs[@]}"
    ;;
report)
    .venv/bin/python -m dr executions "${outputs[@]}"
    ;;
*)
    echo "usage: $0 smoke | switch REGION | report" >&2
    exit 2
    ;;
esac
