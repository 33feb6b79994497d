"""Learn a short text character by character, then generate new text.

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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


if __name__ == "__main__":
    main()
