"""Undoable decisions (Qt's undo stack): dismiss, ban a sample, ban a folder, pin.

Each command changes the list at once (the card leaves or comes back where it was) and asks the
controller to persist the decision on a worker; undo does the reverse and records the undo.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from companion.ui.controller import AppController
from companion.ui.items import SuggestionItem
from companion.ui.suggestions import SuggestionModel


class _CardCommand(QUndoCommand):
    def __init__(self, text: str, controller: AppController, model: SuggestionModel, item: SuggestionItem) -> None:
        super().__init__(text)
        self.controller = controller
        self.model = model
        self.item = item
        self.row = model.row_of(item.sample_id) or 0

    def _take(self) -> None:
        row = self.model.row_of(self.item.sample_id)
        if row is not None:
            self.row = row
            self.model.remove(self.item.sample_id)

    def _put_back(self) -> None:
        self.model.insert(self.row, self.item)


class DismissCommand(_CardCommand):
    """Skip a suggestion for this session."""

    def __init__(self, controller: AppController, model: SuggestionModel, item: SuggestionItem) -> None:
        super().__init__(f"Skip {item.name}", controller, model, item)

    def redo(self) -> None:
        self._take()
        self.controller.decisions.dismiss(self.item, True)

    def undo(self) -> None:
        self._put_back()
        self.controller.decisions.dismiss(self.item, False)


class BanCommand(_CardCommand):
    """Never suggest this sample again."""

    def __init__(self, controller: AppController, model: SuggestionModel, item: SuggestionItem) -> None:
        super().__init__(f"Ban {item.name}", controller, model, item)

    def redo(self) -> None:
        self._take()
        self.controller.decisions.set_decision(self.item, "ban", True)

    def undo(self) -> None:
        self._put_back()
        self.controller.decisions.set_decision(self.item, "ban", False)


class BanFolderCommand(QUndoCommand):
    """Never suggest anything from this folder again."""

    def __init__(self, controller: AppController, model: SuggestionModel, folder: str) -> None:
        super().__init__(f"Ban folder {folder}")
        self.controller = controller
        self.model = model
        self.folder = folder
        self.removed: list[tuple[int, SuggestionItem]] = []

    def redo(self) -> None:
        prefix = self.folder.rstrip("/") + "/"
        self.removed = [(i, it) for i, it in enumerate(self.model.items) if it.path.startswith(prefix)]
        for _, it in reversed(self.removed):
            self.model.remove(it.sample_id)
        self.controller.decisions.ban_folder(self.folder, True)

    def undo(self) -> None:
        for row, it in self.removed:
            self.model.insert(row, it)
        self.controller.decisions.ban_folder(self.folder, False)


class PinCommand(QUndoCommand):
    """Pin (or unpin) a sample: pinned samples come first when they fit the context."""

    def __init__(self, controller: AppController, item: SuggestionItem, on: bool) -> None:
        super().__init__(f"{'Pin' if on else 'Unpin'} {item.name}")
        self.controller = controller
        self.item = item
        self.on = on

    def redo(self) -> None:
        self.controller.decisions.set_decision(self.item, "pin", self.on)

    def undo(self) -> None:
        self.controller.decisions.set_decision(self.item, "pin", not self.on)
