"""The fixture Lambda functions of the ASL conformance corpus, as its README's table describes them.

One-file handlers laid out like the recorded ones: the ``raise`` stands on the recorded line, so the
stack traces in AWS's recorded causes (``/var/task/handler.py``, line N) match ours.
"""

from __future__ import annotations

__all__ = ["HANDLERS"]

#: function-name prefix -> handler.py source
HANDLERS = {
    "id_function": "def handler(event, context):\n    return event\n",
    "raise_exception": 'def handler(event, context):\n    raise Exception("Some exception was raised.")\n',
    "raise_custom_exception": (
        "class CustomException(Exception):\n"
        "    message: str\n"
        "\n"
        "    def __init__(self):\n"
        '        self.message = "CustomException message"\n'
        "\n"
        "\n"
        "def handler(event, context):\n"
        "    raise CustomException()\n"
    ),
    "return_bytes_str": "def handler(event, context):\n    return b'\"HelloWorld!\"'\n",
    "large_output_string": 'def handler(event, context):\n    return ("a" * (257 * 1024)).encode("utf-8")\n',
    "wait_60_seconds": (
        "import time\n\n\ndef handler(event, context):\n    time.sleep(60)\n    return event\n"
    ),
}
