"""The seed's processor: log the event the workflow hands over, return nothing.

This folder is the Lambda asset as is (``handler.handler``), so it imports nothing from asyncgate.
"""

from typing import Any


def handler(event: Any, context: Any) -> None:
    """Print the event; Lambda sends stdout to the function's log group."""
    print(f"Printing out the event {event}")
