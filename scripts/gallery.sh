#!/usr/bin/env bash
# Regenerates the README's gallery (docs/gallery/*.png) from the quickstart and two real logs:
#   quickstart.png    the quickstart example's live chart (an MLP that overfits, stopped early)
#   llm-pretraining.png  `curvewatch analyze` of an llm.c GPT-2 124M pretraining log
#   overfitting-finetune.png  `curvewatch analyze` of a Hugging Face trainer_state.json with six
#                        evaluation sets (a fine-tune that overfits)
# Each image is checked to stay under 300 KB.
#
#   scripts/gallery.sh
set -euo pipefail
cd "$(dirname "$0")/.."

out=docs/gallery
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

cargo build --release --quiet --bin curvewatch --example quickstart

echo "== quickstart"
target/release/examples/quickstart >/dev/null 2>&1
cp curvewatch-out/quickstart/learning_curves.png "$out/quickstart.png"

analyze() { # analyze LOG NAME
    target/release/curvewatch analyze "$1" --out "$tmp/$2" >/dev/null 2>&1 || true
    local png
    png=$(ls "$tmp/$2"/*.curves.png)
    cp "$png" "$out/$2.png"
}
echo "== llm pretraining (llm.c GPT-2 124M)"
analyze tests/data/SiddanthEmani__GPT-2-124M-CUDA__log124M_main.log llm-pretraining
echo "== overfitting fine-tune (trainer_state.json, six evaluation sets)"
analyze tests/data/aigoncharov__trainer_state_viz__trainer_state.json overfitting-finetune

for f in "$out"/*.png; do
    size=$(stat -c %s "$f")
    echo "$f: $((size / 1024)) KB"
    if [ "$size" -gt 307200 ]; then
        echo "error: $f is over 300 KB" >&2
        exit 1
    fi
done
