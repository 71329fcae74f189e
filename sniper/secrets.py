"""Secret values that cannot leak by accident through ``str``/``repr``/f-strings/logs."""

from __future__ import annotations


def mask(value: str, keep: int = 2) -> str:
    """Show at most ``keep`` leading characters and the length; never the rest."""
    if not value:
        return "<empty>"
    if len(value) <= keep * 4:
        return f"<{len(value)} chars>"
    return f"{value[:keep]}…<{len(value)} chars>"


class Secret:
    """A credential. ``str()``/``repr()``/``format()`` give a mask; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({mask(self._value)})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> str:  # never pickle a credential into a file or a queue by accident
        raise TypeError("Secret values cannot be pickled")
