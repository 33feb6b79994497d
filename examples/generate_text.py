"""Learning and generating text character by character
===================================================

Learn a short text character by character, then generate new text.

An :class:`~seqlstm.LSTMClassifier` with ``return_sequences=True`` learns to predict each next
character of a short embedded text (one-hot inputs, one class per character); ``generate``
then continues a prompt by feeding each drawn character back, at a few temperatures (0: the most
probable character each time; higher: more varied).

Run::

    python examples/generate_text.py
    python examples/generate_text.py --quick     # a tiny run in seconds (as in CI)
"""

import argparse
import time

import numpy as np

from seqlstm import LSTMClassifier

TEXT = (
    "the river rises after rain and falls in the dry months. "
    "the gauge at the bridge records the level every hour. "
    "when the snow melts in spring the river runs high and cold. "
    "in late summer the river runs low and warm, and the gauge reads the lowest levels. "
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (2 epochs): checks the script works")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else 60
    chars = np.array(list(TEXT * 4))
    classes = sorted(set(TEXT))
    codes = np.searchsorted(classes, chars)
    eye = np.eye(len(classes))
    length = 40
    starts = np.arange(0, len(chars) - length - 1, 3)
    X = np.stack([eye[codes[s:s + length]] for s in starts])          # (sample, time, class)
    y = np.stack([chars[s + 1:s + length + 1] for s in starts])        # next characters

    model = LSTMClassifier(hidden_size=64, max_iter=epochs, learning_rate_init=1e-2,
                           batch_size=32, return_sequences=True, standardize=False,
                           random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
    print(f"{len(classes)} characters, {len(X)} sequences of {length}; fit "
          f"{time.perf_counter() - start:.1f} s, training accuracy {model.score(X, y):.3f}")
    prompt = "the river "
    for temperature in (0.0, 1.0, 2.0):
        text = "".join(model.generate(120, prime=prompt, temperature=temperature,
                                      random_state=0).values)
        print(f"temperature {temperature}: {prompt}{text}")

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    # the learning curve, and the forget gates of 16 units along the first training sequence
    gates = model.inspect(X[:1])["forget_gate"].isel(sample=0, layer=0, unit=slice(0, 16))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=[1, 2.2])
    ax0.plot(np.arange(1, len(model.loss_curve_) + 1), model.loss_curve_, "o-")
    ax0.set_xlabel("epoch")
    ax0.set_ylabel("training loss (cross-entropy)")
    ax0.set_title("Learning curve")
    image = ax1.imshow(gates.values.T, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax1.set_xticks(np.arange(length), list(chars[:length]))
    ax1.set_xlabel("input character")
    ax1.set_ylabel("unit")
    ax1.set_title("Forget gates along a sequence (1: keep the cell's memory)")
    fig.colorbar(image, ax=ax1)
    fig.tight_layout()
    fig.savefig("text_gates.png", dpi=100)


if __name__ == "__main__":
    main()
