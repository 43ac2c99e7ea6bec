#!/bin/sh
# examples/evaluate_model (the library's summary, evaluate and predict calls from C) says
# what the command says: the accuracy of gradus eval, the probabilities of gradus predict
# --probs and the parameters of gradus summary, for a model gradus trained (with its
# preprocessing) and for the checked-in PyTorch CNN (no input shape in its file).
#
#   tests/evaluate_model_test.sh path/to/gradus    (the example is BUILD/examples/)
set -u
GRADUS=$(realpath "$1")
EXAMPLE=$(dirname "$GRADUS")/examples/evaluate_model
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
. "$(dirname "$0")/check_lib.sh"
REF=$(dirname "$0")/reference
FASHION=/usr/share/datasets/fashion-mnist
if [ ! -x "$EXAMPLE" ] || [ ! -d "$FASHION" ]; then
    echo "skipped: $EXAMPLE not built (make examples) or no $FASHION"
    exit 0
fi

expect "train a small model to evaluate" 0 "$GRADUS" train --limit 2000 --val-size 500 \
    --epochs 1 --threads 2 --out "$WORK/run"
IMAGES=$FASHION/t10k-images-idx3-ubyte.gz

# same_as NAME MODEL: the example's accuracy, first three rows and parameter total are
# gradus eval's, gradus predict --probs's (to the example's 3 decimals) and summary's.
same_as() {
    expect "$1: evaluate_model runs" 0 "$EXAMPLE" "$2"
    cp "$WORK/out" "$WORK/example"
    expect "$1: gradus eval" 0 "$GRADUS" eval --model "$2"
    acc=$(sed -n 's/^accuracy \([0-9.]*\) on .*/\1/p' "$WORK/out")
    contains "$1: the same accuracy as gradus eval ($acc)" "$WORK/example" \
        "^10000 samples: loss [0-9.]*, accuracy $acc\$"
    # predict's CSV, with or without its header row (id,label[,class],p_0,...): the
    # class and the probabilities of the first three images.
    "$GRADUS" predict --model "$2" --input "$IMAGES" --probs 2>"$WORK/err" |
        awk -F, 'NR == 1 && $1 == "id" { for (i = 1; i <= NF; i++) { if ($i == "label") lc = i;
                                                                  if ($i ~ /^p_/) { pc = pc ? pc : i; np++ } }
                                         next }
                 !lc { lc = 1; pc = 2; np = NF - 1 }
                 rows < 3 { printf "sample %d: class %d, probabilities", rows, $lc;
                            for (i = pc; i < pc + np; i++) printf " %.3f", $i;
                            print ""; rows++ }' >"$WORK/want"
    grep '^sample ' "$WORK/example" | sed 's/ (label [0-9]*)//' >"$WORK/got"
    if [ "$(wc -l <"$WORK/want")" -eq 3 ] && cmp -s "$WORK/want" "$WORK/got"; then
        ok "$1: the first predictions are gradus predict --probs's"
    else
        bad "$1: the first predictions are gradus predict --probs's"
        diff "$WORK/want" "$WORK/got" | head -6
    fi
    total=$("$GRADUS" summary "$2" --input 1x28x28 | sed -n 's/^Total parameters: \([0-9,]*\) .*/\1/p' | tr -d ,)
    contains "$1: the parameters of gradus summary ($total)" "$WORK/example" "^$total parameters;"
}
same_as "gradus's model" "$WORK/run/model.safetensors"
same_as "PyTorch's CNN" "$REF/pytorch_cnn.safetensors"

expect "a missing model file fails with exit 1" 1 "$EXAMPLE" "$WORK/none.safetensors"
contains "its message names the file" "$WORK/err" "none.safetensors"
expect "a wrong argument count is a usage error" 2 "$EXAMPLE"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
