"""Memoised facts whose answers cannot depend on who asked first.

A fact (what a function does with the GIL, whether it starts a process, what an expression's type
is) is computed by one function and memoised under a key: its *kind*, which must name every input
besides the node that changes the answer (the user's settings, for instance), and the node. A fact
may ask other facts; asking one that is being computed (recursion) gives the fact's ``on_cycle``
answer.

Facts that ask each other in a cycle form a strongly connected component (Tarjan). Their first
answers depend on where the search entered the cycle, so once the whole component is known each
member is computed again with every question inside the component answered ``on_cycle``: the same
answers whichever fact was asked first, which file was linted first, or what the cache held.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")
Key = Hashable


class FactMemo:
    """Answers of facts, by key, computed once (component by component for recursive facts)."""

    def __init__(self) -> None:
        self._answers: dict[Key, Any] = {}
        #: Tarjan's stack: facts being computed, and finished facts of a component not yet closed.
        self._stack: list[Key] = []
        self._index: dict[Key, int] = {}
        self._low: dict[Key, int] = {}
        self._recipes: dict[Key, tuple[Callable[[], Any], Any]] = {}
        #: Members of a component being recomputed: every question about them is a cycle.
        self._closing: set[Key] = set()

    def get(self, key: Key, compute: Callable[[], T], on_cycle: T) -> T:
        if key in self._answers:
            return self._answers[key]
        if key in self._closing:
            return on_cycle
        if key in self._index:  # on the stack: a cycle back to ``key``
            if self._stack:
                top = self._stack[-1]
                self._low[top] = min(self._low[top], self._index[key])
            return on_cycle
        position = len(self._stack)
        self._stack.append(key)
        self._index[key] = self._low[key] = position
        self._recipes[key] = (compute, on_cycle)
        try:
            answer = compute()
        except BaseException:
            self._forget(position)
            raise
        low = self._low[key]
        if low < position:  # part of a component whose root is further down: provisional
            caller = self._stack[position - 1]
            self._low[caller] = min(self._low[caller], low)
            return answer
        component = self._stack[position:]
        if len(component) == 1:
            self._answers[key] = answer
            self._forget(position)
            return answer
        self._close(component, position)
        return self._answers[key]

    def _close(self, component: list[Key], position: int) -> None:
        """Recompute every member of a component with questions inside it answered as cycles."""
        recipes = [self._recipes[member] for member in component]
        self._forget(position)
        self._closing.update(component)
        try:
            answers = [compute() for compute, _ in recipes]
        finally:
            self._closing.difference_update(component)
        self._answers.update(zip(component, answers))

    def _forget(self, position: int) -> None:
        for member in self._stack[position:]:
            del self._index[member], self._low[member], self._recipes[member]
        del self._stack[position:]
