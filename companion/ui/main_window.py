"""The main window: context bar, library panel, suggestions with search, inspector, status bar.

Keyboard (window-wide; text fields keep their own keys):

=============  ================================================================
Space          play / stop the selected suggestion (its region, if one is set)
↑ / ↓          move; auditions the new row when auto-preview is on
Enter          use it (accept)
Delete         skip it for this session            (undo: Ctrl+Z)
B / Shift+B    ban the sample / its folder          (undo: Ctrl+Z)
P              pin / unpin
M              more like this
E              correct BPM / key / kind
Ctrl+F         search; Esc goes back to the suggestions
Ctrl+R         scan the folders now
Ctrl+,         settings
Ctrl+1 / 2     fusion / rules ranking
Ctrl+L         show / hide the library panel
Ctrl+I         show / hide the inspector
Ctrl+T         stay on top of other windows
Ctrl+Q         quit
=============  ================================================================

Below :data:`COMPACT_BELOW` px of width (e.g. beside a DAW), or wider where a larger system
font makes the two columns need more, the window is one column: the
library panel and inspector fold away (View menu, Ctrl+L / Ctrl+I bring them back), the context
bar stacks its fields and the cards switch to two lines; the window can be 480 px wide.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence, QPaintEvent, QUndoStack
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSlider,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from companion.app.session import list_filter_of
from companion.ui.context_bar import ContextBar
from companion.ui.controller import AppController, SuggestionBatch
from companion.ui.dialogs import FirstRunDialog, SettingsDialog
from companion.ui.inspector import Inspector
from companion.ui.items import SuggestionItem
from companion.ui.library_panel import LibraryPanel
from companion.ui.list_filter_menu import FilterMenu, arrange
from companion.ui.model_dialog import ModelFetchDialog
from companion.ui.search_adapter import ResultList
from companion.ui.suggestions import SuggestionModel, SuggestionView
from companion.ui.undo import BanCommand, BanFolderCommand, DismissCommand, PinCommand

log = logging.getLogger(__name__)

SEARCH_DELAY_MS = 250
#: Below this window width (px) the layout is one column (library panel and inspector folded).
COMPACT_BELOW = 760
#: How long a status-bar note stays (ms): long enough to read a line twice.
STATUS_MS = 6000
#: How long an error stays in the status bar (ms).
ERROR_MS = 15000
#: Appended to the message of an undoable removal (ban, skip).
UNDO_HINT = " — Ctrl+Z to undo"
#: The narrowest window (px): half of a 960 px wide screen, or beside a DAW on a laptop.
MIN_WIDTH = 480
#: Said when an action needs a file's analysis and the file is still being analysed.
ANALYSING_HINT = "{name} is still being analysed — play, use, skip or ban it once it is done"
#: Said for the "+N more being analysed" line.
MORE_ANALYSING_HINT = "Those files are still being analysed — they join the list as they are done"


class PaintedListView(SuggestionView):
    """The list view with an empty-state message, reporting each finished repaint (for the
    responsiveness figures)."""

    painted = Signal()

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.empty = QLabel("Opening your library…", self.viewport())
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("Dim")
        self.empty.setWordWrap(True)

    def show_empty(self, text: str | None) -> None:
        """Show ``text`` over the (empty) list, or hide it with None."""
        self.empty.setVisible(text is not None)
        if text is not None:
            self.empty.setText(text)

    def resizeEvent(self, e: Any) -> None:
        super().resizeEvent(e)
        self.empty.setGeometry(self.viewport().rect().adjusted(40, 0, -40, 0))

    def paintEvent(self, e: QPaintEvent) -> None:
        super().paintEvent(e)
        self.painted.emit()


class MainWindow(QMainWindow):
    """The companion's window.

    Args:
        controller: the services (started by the caller or by :meth:`start`).
    """

    #: The first-run dialog, once :func:`companion.ui.app.run_first_run` has opened it.
    first_run_dialog: FirstRunDialog

    def __init__(self, controller: AppController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle("SampleMind Companion")
        self.setMinimumWidth(MIN_WIDTH)
        self.resize(1280, 800)
        saved = controller.settings.window_geometry
        if saved and not self.restoreGeometry(QByteArray.fromBase64(saved.encode("ascii"))):
            log.info("the saved window geometry does not fit this screen: default size")
        #: True while the window is in its one-column layout (see :meth:`two_column_width`).
        self.compact = False
        #: The tool row's minimum width (px) as laid out in two columns, measured while it is.
        self._tool_row_width = 0
        self.undo_stack = QUndoStack(self)
        self.model = SuggestionModel(self)
        self.showing: str = "suggestions"  # or "search" / "similar"
        self.latest: SuggestionBatch | None = None
        self.results: ResultList | None = None
        self.region: tuple[float, float] | None = None
        self._restoring = False
        self._paint_from: float | None = None
        self._pending_batch: SuggestionBatch | None = None
        self._suggestion_selected: int | None = None  # sample selected when results replaced the suggestions
        self._pending_from = 0.0
        #: context change → repaint latencies (ms) measured so far.
        self.repaint_ms: list[float] = []
        self._build()
        self._wire()
        self._actions()

    # ================================================================== layout
    def _build(self) -> None:
        central = QWidget()
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.context_bar = ContextBar()
        root.addWidget(self.context_bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setHandleWidth(1)
        self.library = LibraryPanel()
        split.addWidget(self.library)

        right = QWidget()
        rlay = QVBoxLayout(right)
        rlay.setContentsMargins(0, 0, 0, 0)
        rlay.setSpacing(0)
        top = QWidget()
        self.tool_row = top
        tlay = QHBoxLayout(top)
        tlay.setContentsMargins(14, 10, 14, 6)
        tlay.setSpacing(10)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search your library  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(140)
        tlay.addWidget(self.search, 1)
        self.volume_label = QLabel("VOL")
        self.volume_label.setObjectName("FieldLabel")
        tlay.addWidget(self.volume_label)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(int(round(self.controller.settings.volume * 100)))
        self.volume.setFixedWidth(110)
        self.volume.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume.setToolTip("Audition volume")
        tlay.addWidget(self.volume)
        self.view_button = QToolButton()
        self.view_button.setText("View ▾")
        self.view_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0; }")
        self.view_button.setToolTip("Library panel, inspector, stay on top")
        self.view_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.view_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view_menu = QMenu(self.view_button)
        self.view_button.setMenu(self.view_menu)
        tlay.addWidget(self.view_button)
        self._build_filter_button(tlay)
        self.settings_button = QPushButton("Settings")
        self.settings_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        tlay.addWidget(self.settings_button)
        rlay.addWidget(top)
        self.header = QLabel("Opening your library…")
        self.header.setObjectName("ListHeader")
        self.header.setContentsMargins(14, 0, 14, 4)
        self.header.setWordWrap(True)  # a long header wraps instead of widening the window
        header_row = QHBoxLayout()
        header_row.setContentsMargins(0, 0, 14, 0)
        header_row.addWidget(self.header, 1)
        self.get_model_button = QPushButton("Get the CLAP model…")
        self.get_model_button.setToolTip("Download a CLAP model: search by describing a sound")
        self.get_model_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.get_model_button.hide()  # shown while no CLAP model is loaded
        header_row.addWidget(self.get_model_button)
        rlay.addLayout(header_row)
        self.model_dialog: ModelFetchDialog | None = None

        self.view = PaintedListView(self.model, self._mime_for, self._dropped)
        self.inspector = Inspector()
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.setHandleWidth(1)
        vsplit.addWidget(self.view)
        vsplit.addWidget(self.inspector)
        vsplit.setStretchFactor(0, 3)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([520, 190])
        rlay.addWidget(vsplit, 1)
        split.addWidget(right)
        self.right = right
        self.splitter = split
        split.setChildrenCollapsible(False)
        split.setStretchFactor(1, 1)
        split.setSizes([270, 1010])
        root.addWidget(split, 1)
        self.setCentralWidget(central)

        self.sync_label = QLabel("sync off")
        self.audio_label = QLabel("")
        self.statusBar().addPermanentWidget(self.audio_label)
        self.statusBar().addPermanentWidget(self.sync_label)
        self.library.set_folders(self.controller.settings.folders)
        self.library.watch.setChecked(self.controller.settings.watch_folders)
        self.library.set_data_location(str(self.controller.catalog_path), str(self.controller.store.path))
        self.context_bar.set_mode(self.controller.mode)
        self.view.setFocus()

    def _wire(self) -> None:
        c = self.controller
        c.engine_ready.connect(lambda: self._set_header("Ranking…"))
        c.engine_ready.connect(self._show_clap_state)
        c.engine_failed.connect(self._engine_failed)
        c.suggestions_ready.connect(self._queue_suggestions)
        c.results_ready.connect(self._on_results)
        c.context_changed.connect(self.context_bar.show_context)
        c.bridge_state.connect(self.context_bar.connection.set_state)
        c.scan_started.connect(self._scan_started)
        self._scan_phase: str | None = None
        c.scan_progress.connect(self._scan_progress)
        c.scan_finished.connect(self._scan_finished)
        c.library_info.connect(self._library_info)
        c.preview_state.connect(self._preview_state)
        c.peaks_ready.connect(self._peaks_ready)
        c.message.connect(self.show_status)
        c.problem.connect(lambda text: self.show_status(text, error=True))
        c.sync_state.connect(self.sync_label.setText)
        self.model.peaks_wanted.connect(c.library.load_peaks)
        c.library.pending_changed.connect(self._pending_changed)
        self.context_bar.edited.connect(c.edit_context)
        self.context_bar.mode_changed.connect(c.set_mode)
        self.context_bar.done_editing.connect(lambda: self.view.setFocus())
        self.library.folders_changed.connect(c.library.set_folders)
        self.library.scan_requested.connect(lambda: c.library.start_scan())
        self.library.cancel_requested.connect(c.library.cancel_scan)
        self.library.watch_toggled.connect(c.library.set_watching)
        self.volume.valueChanged.connect(lambda v: c.audition.set_volume(v / 100.0))
        self.settings_button.clicked.connect(self.open_settings)
        self.get_model_button.clicked.connect(self.get_model)
        c.models.clap_changed.connect(self._clap_changed)
        c.models.finished.connect(lambda ok, text: self.show_status(text, error=not ok))
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.view.activated_item.connect(self._play_item)
        self.view.painted.connect(self._painted)
        self.inspector.action.connect(self._inspector_action)
        self.inspector.correction.connect(self._correct)
        self.inspector.wave.region_changed.connect(self._region_changed)
        self.inspector.wave.clicked_at.connect(self._wave_clicked)
        self.inspector.wave.region_mime = self._region_mime
        self.inspector.drag_rendered.toggled.connect(lambda _: self._prepare_drag())
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: c.finder.search(self.search.text()))
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self.search.installEventFilter(self)  # Down / Enter go on to the results
        self._playhead = QTimer(self, interval=33)
        self._playhead.timeout.connect(self._move_playhead)
        self._audio_note_timer = QTimer(self, singleShot=True)
        self._audio_note_timer.timeout.connect(self.audio_label.clear)
        self._clock = QTimer(self, interval=1000)
        self._clock.timeout.connect(self.context_bar.refresh_source)
        self._clock.start()

    def _actions(self) -> None:
        def add(name: str, keys: Any, slot: Any, *, on_list: bool = False) -> QAction:
            act = QAction(name, self)
            act.setShortcuts(keys if isinstance(keys, list) else [QKeySequence(keys)])
            if on_list:  # keys that text fields need too: only while the list has the keyboard
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self.view.addAction(act)
            else:  # printable keys: text fields take them first (ShortcutOverride)
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
                self.addAction(act)
            act.triggered.connect(lambda: slot())
            self.shortcut_actions[name] = act
            return act

        self.shortcut_actions: dict[str, QAction] = {}
        add("Play / stop", Qt.Key.Key_Space, self.toggle_play)
        add(
            "Use it",
            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)],
            self.accept_current,
            on_list=True,
        )
        add(
            "Skip",
            [QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)],
            self.dismiss_current,
            on_list=True,
        )
        add("Ban sample", Qt.Key.Key_B, self.ban_current)
        add("Ban folder", QKeySequence("Shift+B"), self.ban_folder_current)
        add("Pin", Qt.Key.Key_P, self.pin_current)
        add("More like this", Qt.Key.Key_M, self.more_like_current)
        add("Correct", Qt.Key.Key_E, self.inspector.focus_correction)
        add("Undo", QKeySequence.StandardKey.Undo, self.undo_stack.undo)
        add("Redo", QKeySequence.StandardKey.Redo, self.undo_stack.redo)
        add("Search", QKeySequence.StandardKey.Find, self._focus_search)
        add("Back", Qt.Key.Key_Escape, self.escape)
        add("Scan", QKeySequence("Ctrl+R"), lambda: self.controller.library.start_scan())
        add("Settings", QKeySequence("Ctrl+,"), self.open_settings)
        add("Fusion", QKeySequence("Ctrl+1"), lambda: self._mode("fusion"))
        add("Rules", QKeySequence("Ctrl+2"), lambda: self._mode("rules"))

        def toggle(name: str, keys: str, checked: bool, slot: Any) -> QAction:
            act = QAction(name, self)
            act.setCheckable(True)
            act.setChecked(checked)
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.toggled.connect(slot)
            self.addAction(act)
            self.view_menu.addAction(act)
            self.shortcut_actions[name] = act
            return act

        self.library_action = toggle("Library panel", "Ctrl+L", True, lambda _: self._apply_panels())
        self.inspector_action = toggle("Inspector", "Ctrl+I", True, lambda _: self._apply_panels())
        self.view_menu.addSeparator()
        self.stay_on_top_action = toggle(
            "Stay on top", "Ctrl+T", self.controller.settings.stay_on_top, self.set_stay_on_top
        )
        if self.controller.settings.stay_on_top:
            self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.view_menu.addSeparator()
        # the platform's Quit keys; Ctrl+Q where it names none (e.g. Windows, the offscreen platform)
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) or [QKeySequence("Ctrl+Q")]
        quit_action = add("Quit", quit_keys, self.close)
        self.view_menu.addAction(quit_action)

    # ================================================================== layout by width
    def resizeEvent(self, event: Any) -> None:
        """One column below :meth:`two_column_width`, side panels above."""
        super().resizeEvent(event)
        if not self.compact:
            self._tool_row_width = self.tool_row.minimumSizeHint().width()
        self.set_compact(event.size().width() < self.two_column_width())

    def two_column_width(self) -> int:
        """The narrowest window (px) that holds the two-column layout: :data:`COMPACT_BELOW`,
        or more where the library panel and the tool row need it (a larger or wider system
        font). The tool row is measured as laid out in two columns; the inspector stacks and
        the context bar wraps, so they fit either layout."""
        library = max(self.library.minimumSizeHint().width(), self.library.minimumWidth())
        return max(COMPACT_BELOW, library + self.splitter.handleWidth() + self._tool_row_width)

    def set_compact(self, compact: bool) -> None:
        """Switch between the one-column layout (library panel and inspector folded, a narrower
        tool row) and the full one; the panels' View actions follow (their shortcuts still
        unfold them)."""
        if compact == self.compact:
            return
        self.compact = compact
        for act in (self.library_action, self.inspector_action):
            act.blockSignals(True)
            act.setChecked(not compact)
            act.blockSignals(False)
        self.volume_label.setVisible(not compact)
        self.volume.setFixedWidth(72 if compact else 110)
        self.search.setMinimumWidth(100 if compact else 140)
        self._apply_panels()

    def _apply_panels(self) -> None:
        """Show the panels the View actions ask for; in the one-column layout the library panel
        takes the column while it is open."""
        library = self.library_action.isChecked()
        self.library.setVisible(library)
        self.right.setVisible(not (self.compact and library))
        self.inspector.setVisible(self.inspector_action.isChecked())
        if not self.right.isVisible():
            self.library.setFocus()
        elif not self.search.hasFocus():
            self.view.setFocus()

    def set_stay_on_top(self, on: bool) -> None:
        """Keep the window above other windows (saved in the settings)."""
        visible = self.isVisible()
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, on)
        if visible:
            self.show()  # changing a window flag hides the window
        if self.stay_on_top_action.isChecked() != on:
            self.stay_on_top_action.setChecked(on)
        if self.controller.settings.stay_on_top != on:
            self.controller.edit_settings(stay_on_top=on)

    def show_status(self, text: str, *, error: bool = False) -> None:
        """A message in the status bar for :data:`STATUS_MS` (an error: :data:`ERROR_MS`)."""
        self.statusBar().showMessage(text, ERROR_MS if error else STATUS_MS)

    def _show_audio_note(self, text: str, *, error: bool = False) -> None:
        """The audition note at the right of the status bar; cleared after :data:`STATUS_MS`
        (an error: :data:`ERROR_MS`)."""
        self.audio_label.setText(text)
        self._audio_note_timer.start(ERROR_MS if error else STATUS_MS)

    @staticmethod
    def _typing() -> bool:
        w = QApplication.focusWidget()
        return isinstance(w, (QLineEdit, QAbstractSpinBox))

    # ================================================================== lists
    def _set_header(self, text: str) -> None:
        self.header.setText(text)

    def clap_note(self) -> str | None:
        """One line on what works without a CLAP model (or before the library has its vectors),
        or None when text search goes through CLAP."""
        clap = self.controller.session.clap
        if clap is None:
            return None
        if clap.embedder is not None:
            return self.controller.models.search_note()
        why = clap.problem or "No CLAP model installed"
        return f"{why} — mood, genre and search match names and tags only"

    def _show_clap_state(self) -> None:
        note = self.clap_note()
        self.context_bar.set_clap_note(note)
        self.search.setToolTip(note or "Search by sound and by names and tags (CLAP)")
        self.search.setPlaceholderText("Search names and tags  (Ctrl+F)" if note else "Search your library  (Ctrl+F)")
        clap = self.controller.session.clap
        self.get_model_button.setVisible(clap is not None and clap.embedder is None)  # offered while no model is loaded

    def _clap_changed(self) -> None:
        """The session loaded (or dropped) a CLAP model: the notes follow, a search shown is run again."""
        self._show_clap_state()
        if self.showing == "search" and self.search.text().strip():
            self.controller.finder.search(self.search.text())

    def get_model(self) -> None:
        """The "Get the CLAP model…" action: the download dialog (modeless); starts the download unless one runs."""
        models = self.controller.models
        if not models.running:
            models.fetch()
        if self.model_dialog is None:
            self.model_dialog = ModelFetchDialog(models, self)
        self.model_dialog.show()
        self.model_dialog.raise_()

    def _engine_failed(self, text: str) -> None:
        self.view.show_empty(f"Cannot open your library:\n{text}")
        self._set_header("Library unavailable")

    def _queue_suggestions(self, batch: SuggestionBatch) -> None:
        """Lists that arrive while the GUI thread is busy are coalesced: only the newest is
        shown (a flood of OSC packets must not become a queue of repaints)."""
        pending = self._pending_batch
        if pending is not None:
            self._pending_from = min(self._pending_from, batch.changed_at)
        else:
            self._pending_from = batch.changed_at
            QTimer.singleShot(0, self._show_pending)
        self._pending_batch = batch

    def _show_pending(self) -> None:
        batch, self._pending_batch = self._pending_batch, None
        if batch is not None:
            self._on_suggestions(batch)

    def _on_suggestions(self, batch: SuggestionBatch, fresh: bool = True) -> None:
        self.latest = batch
        if self.showing != "suggestions":
            return
        if fresh:  # measure context change → repaint for new lists only (from the oldest change)
            self._paint_from = min(batch.changed_at, self._pending_from or batch.changed_at)
            self._pending_from = 0.0
        ranked = {it.sample_id for it in batch.items}
        pending = [it for it in self.controller.library.pending if it.sample_id not in ranked]
        self._show_items(batch.items, "suggestions", pending)
        ctx = batch.context
        bits = [f"{ctx.bpm:g} BPM" if ctx.bpm else "", ctx.key.name if ctx.key else ""]
        if ctx.mood_tags or ctx.genre:
            bits.append(", ".join([*ctx.mood_tags, *([ctx.genre] if ctx.genre else [])]))
        where = " · ".join(b for b in bits if b) or "no tempo or key yet"
        src = batch.items[0].source if batch.items else "—"
        analysing = f" · {self.controller.library.pending_total} being analysed" if pending else ""
        self._set_header(
            f"Suggestions for {where}   —   {len(batch.items)} · {batch.mode} · {src} · ranked in {batch.rank_ms:.0f} ms"
            + analysing
        )
        if not batch.items and not pending:
            has_folders = bool(self.controller.settings.folders)
            self.view.show_empty(
                "Nothing in your library fits this tempo and key yet."
                if has_folders and not self.controller.library.scanning
                else "Your library is being analysed — suggestions appear as files are done."
                if self.controller.library.scanning
                else "No samples yet.\nAdd a sample folder on the left, then Scan now."
            )

    def _on_results(self, results: ResultList | None) -> None:
        if results is None:
            self.back_to_suggestions()
            return
        self.results = results
        if self.showing == "suggestions":  # the card to come back to with Esc
            current = self.view.current_item()
            self._suggestion_selected = current.sample_id if current is not None else None
        self.showing = results.kind
        self._show_items(results.items, results.kind)
        note = f" · {results.note}" if results.note else ""
        clap_note = self.clap_note() if results.kind == "search" else None
        if clap_note:
            note = f" · {clap_note}"
        self._set_header(f"{results.title}   —   {len(results.items)} results{note}   (Esc: back to suggestions)")
        if not results.items:
            self.view.show_empty("No matches.")

    def _pending_changed(self) -> None:
        """Other files are being analysed (a scan follows the library): the suggestions show
        them after the ranked cards."""
        if self.showing == "suggestions" and self.latest is not None:
            self._on_suggestions(self.latest, fresh=False)

    def _analysed(self, item: SuggestionItem | None) -> SuggestionItem | None:
        """``item``, or None (saying why in the status bar) when it is still being analysed."""
        if item is not None and item.analysing:
            self.show_status(ANALYSING_HINT.format(name=item.name) if item.sample_id >= 0 else MORE_ANALYSING_HINT)
            return None
        return item

    def _play_item(self, item: SuggestionItem | None) -> None:
        """A double-click on a card auditions it."""
        item = self._analysed(item)
        if item is not None:
            self.controller.audition.preview(item)

    def _correct(self, item: SuggestionItem, fields: dict[str, Any]) -> None:
        """The inspector's BPM / key / kind correction of ``item``."""
        if self._analysed(item) is not None:
            self.controller.decisions.correct(item, fields["bpm"], fields["key"], fields["kind"])

    def _build_filter_button(self, layout: Any) -> None:
        """The "Filter ▾" button beside "View ▾": kind, instrument, BPM, length, folder,
        favourites and sort (:mod:`companion.ui.list_filter_menu`)."""
        settings = self.controller.settings
        self.filter_button = QToolButton()
        self.filter_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0; }")
        self.filter_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.filter_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.filter_menu = FilterMenu(list_filter_of(settings), settings.sort_by, settings.folders, self.filter_button)
        self.filter_button.setMenu(self.filter_menu)
        self.filter_menu.filter_changed.connect(self._filter_changed)
        self.filter_menu.sort_changed.connect(self._sort_changed)
        layout.addWidget(self.filter_button)
        self._show_filter_state()

    def _show_filter_state(self) -> None:
        text = self.filter_menu.list_filter.describe()
        self.filter_button.setText("Filter • ▾" if text else "Filter ▾")
        self.filter_button.setToolTip(f"Showing only: {text}" if text else "Filter and sort the list")

    def _filter_changed(self, list_filter: Any) -> None:
        self.controller.set_list_filter(list_filter)  # the ranker sends a new, filtered list
        self._show_filter_state()
        if self.results is not None:
            self._on_results(self.results)

    def _sort_changed(self, sort_by: str) -> None:
        self.controller.set_sort(sort_by)
        if self.results is not None:
            self._on_results(self.results)
        elif self.latest is not None:
            self._on_suggestions(self.latest, fresh=False)

    def _show_items(self, items: list[SuggestionItem], kind: str, analysing: Sequence[SuggestionItem] = ()) -> None:
        """Show ``items`` (arranged: filter and sort), then the ``analysing`` cards as given."""
        engine = self.controller.engine
        items = arrange(
            items,
            self.controller.settings.sort_by,
            None if kind == "suggestions" else self.filter_menu.list_filter,  # the ranker filtered those
            engine.state.pinned if engine is not None else (),
        )
        current = self.view.current_item()
        row = self.view.currentIndex().row()
        self._restoring = True
        self.model.set_items([*items, *analysing])
        self.view.show_empty(None)
        if items or analysing:
            keep = self.model.row_of(current.sample_id) if current is not None else None
            if keep is not None or row >= 0:
                self.view.select_row(keep if keep is not None else row)
        self._restoring = False
        # paint the new list now, before the inspector and the bookkeeping below, instead of
        # waiting for the event loop's next update request behind other queued events. The
        # model reset left the view a delayed item layout, whose later run would repaint the
        # whole viewport a second time with the same cards: run it first (one paint per list).
        self.view.executeDelayedItemsLayout()
        self.view.viewport().repaint()
        self._inspect(self.view.current_item())
        self.controller.decisions.shown(items, kind)
        nxt = [it for it in ([self.view.current_item(), *items]) if it is not None and not it.analysing]  # top 10
        self.controller.audition.schedule_prefetch(nxt)

    def back_to_suggestions(self) -> None:
        """Leave search / similar results."""
        self.showing = "suggestions"
        self.results = None
        self._search_timer.stop()
        self.controller.finder.cancel()  # a search still running must not pop up later
        if self.search.text():
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
        if self.latest is not None:
            self._on_suggestions(self.latest, fresh=False)
        back = self.model.row_of(self._suggestion_selected) if self._suggestion_selected is not None else None
        if back is not None:  # the highlight returns to the card it was on, not to a row number
            self.view.select_row(back)
        self._suggestion_selected = None

    def _painted(self) -> None:
        if self._paint_from is not None:
            self.repaint_ms.append((time.perf_counter() - self._paint_from) * 1000.0)
            self._paint_from = None

    def _peaks_of(self, item: SuggestionItem | None) -> Any:
        return None if item is None else self.model.peaks.get(item.path)

    def _peaks_ready(self, peaks: dict[str, Any]) -> None:
        self.model.set_peaks(peaks)
        item = self.inspector.item
        if item is not None and item.path in peaks:
            self.inspector.wave.set_peaks(peaks[item.path])

    # ================================================================== selection / audition
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        item = self.view.current_item()
        if self._restoring:
            return
        self.region = None
        self._inspect(item)
        if item is None or item.analysing:
            return
        if item.path not in self.model.peaks:
            self.model.want_peaks(item.path)
        self._prepare_drag()
        if self.controller.settings.auto_preview and (self.view.hasFocus() or self.controller.audition.playing):
            self.controller.audition.preview(item)

    def _inspect(self, item: SuggestionItem | None) -> None:
        self.inspector.show_item(item, self._peaks_of(item))
        if item is None:
            text = ""
        elif item.analysing:
            text = ANALYSING_HINT.format(name="It") if item.sample_id >= 0 else MORE_ANALYSING_HINT
        else:
            text = self.controller.audition.plan_note(item)
        self.inspector.set_plan_text(text)

    def selected(self) -> SuggestionItem | None:
        """The selected card."""
        return self.view.current_item()

    def toggle_play(self) -> None:
        """Space."""
        item = self.selected()
        if item is None and self.model.rowCount():
            self.view.select_row(0)
            item = self.selected()
        item = self._analysed(item)
        if item is None:
            return
        c = self.controller
        playing_this = (
            c.audition.playing
            and c.audition.preview_item is not None
            and c.audition.preview_item.sample_id == item.sample_id
        )
        if playing_this:
            c.audition.stop()
        else:
            c.audition.preview(item, region=self.region)

    def _scan_started(self) -> None:
        self._scan_phase = None
        self.library.set_scanning(True)

    def _scan_progress(self, p: Any) -> None:
        """Progress text; when indexing ends (the first report of a later phase), the library
        counts are read again, so the files just found count at once, not after the analysis."""
        if p.phase != "index" and self._scan_phase in (None, "index"):
            self.controller.library.refresh_info()
        self._scan_phase = p.phase
        self.library.show_progress(p.phase, p.done, p.total, p.path)

    def _preview_state(self, sample_id: Any, state: str, detail: str) -> None:
        if state == "note":
            self.inspector.set_plan_text(detail)
            self._show_audio_note(detail)
            return
        self.model.set_play_state(sample_id, state if state in ("loading", "playing") else "stopped")
        if state == "playing":
            self._playhead.start()
            self.inspector.set_playing(sample_id)  # Play reads Stop
        elif state in ("stopped", "error"):
            self._playhead.stop()
            self.inspector.set_playing(None)
            self.inspector.wave.set_playhead(None)
            if state == "error":
                self._show_audio_note("audition failed", error=True)

    def _move_playhead(self) -> None:
        item, playing = self.inspector.item, self.controller.audition.preview_item
        if item is None or playing is None or item.sample_id != playing.sample_id:
            self.inspector.wave.set_playhead(None)
            return
        self.inspector.wave.set_playhead(self.controller.audition.position_fraction())

    def _wave_clicked(self, fraction: float) -> None:
        item = self._analysed(self.selected())
        if item is not None:
            self.region = None
            self.controller.audition.preview(item, start=fraction)

    def _region_changed(self, region: Any) -> None:
        self.region = region
        item = self._analysed(self.selected())
        if item is not None and region is not None:
            self.controller.audition.preview(item, region=region)
            self._prepare_drag()

    # ================================================================== drag
    def _mime_for(self, item: SuggestionItem) -> QMimeData | None:
        if self._analysed(item) is None:
            return None  # no drag
        return self.controller.audition.mime_for(item, rendered=self.inspector.drag_rendered.isChecked())

    def _region_mime(self, region: tuple[float, float]) -> QMimeData | None:
        item = self._analysed(self.selected())
        return (
            None
            if item is None
            else self.controller.audition.mime_for(
                item, rendered=self.inspector.drag_rendered.isChecked(), region=region
            )
        )

    def _dropped(self, item: SuggestionItem, _action: Any) -> None:
        self.controller.decisions.accept(item, via="drag")

    def _prepare_drag(self) -> None:
        item = self.selected()
        if (
            item is not None
            and not item.analysing
            and (self.inspector.drag_rendered.isChecked() or self.region is not None)
        ):
            self.controller.audition.prepare_drag(
                item, rendered=self.inspector.drag_rendered.isChecked(), region=self.region
            )

    # ================================================================== actions
    def _inspector_action(self, name: str) -> None:
        {
            "play": self.toggle_play,
            "accept": self.accept_current,
            "more": self.more_like_current,
            "pin": self.pin_current,
            "dismiss": self.dismiss_current,
            "ban": self.ban_current,
            "ban_folder": self.ban_folder_current,
        }[name]()

    def accept_current(self) -> None:
        """Enter: the producer used the selected sample."""
        item = self._analysed(self.selected())
        if item is not None:
            self.controller.decisions.accept(item, via="key")

    def _remove_and_keep_row(self, command: Any) -> None:
        row = self.view.currentIndex().row()
        self.undo_stack.push(command)
        self.view.select_row(row)

    def dismiss_current(self) -> None:
        """Delete: skip for this session (undoable)."""
        item = self._analysed(self.selected())
        if item is not None:
            self._remove_and_keep_row(DismissCommand(self.controller, self.model, item))
            self.show_status(f"Skipped {item.name} for this session{UNDO_HINT}")

    def ban_current(self) -> None:
        """B: ban the sample (undoable)."""
        item = self._analysed(self.selected())
        if item is not None:
            self._remove_and_keep_row(BanCommand(self.controller, self.model, item))
            self.show_status(f"Banned {item.name}{UNDO_HINT}")

    def ban_folder_current(self) -> None:
        """Shift+B: ban its folder (undoable)."""
        item = self._analysed(self.selected())
        if item is not None:
            self._remove_and_keep_row(BanFolderCommand(self.controller, self.model, item.folder))
            self.show_status(f"Banned the folder {item.folder}{UNDO_HINT}")

    def pin_current(self) -> None:
        """P: pin / unpin (undoable)."""
        item = self._analysed(self.selected())
        if item is not None:
            self.undo_stack.push(PinCommand(self.controller, item, not item.pinned))

    def more_like_current(self) -> None:
        """M: samples like the selected one."""
        item = self._analysed(self.selected())
        if item is not None:
            self.controller.finder.more_like(item)

    def escape(self) -> None:
        """Esc: leave a field, then results; stop audio."""
        if self._typing():
            focused = QApplication.focusWidget()
            assert focused is not None  # _typing(): a line edit or spin box has the focus
            focused.clearFocus()
            self.view.setFocus()
            if self.showing == "suggestions":
                return
        if self.showing != "suggestions":
            self.back_to_suggestions()
        elif self.controller.audition.playing:
            self.controller.audition.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Down in the search box goes to the results; Enter searches now and goes there too."""
        if watched is self.search and isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self._search_timer.isActive():  # still inside the typing pause: search now
                    self._search_timer.stop()
                    self.controller.finder.search(self.search.text())
                self._to_results()
                return True
            if key == Qt.Key.Key_Down:
                self._to_results()
                return True
        return super().eventFilter(watched, event)

    def _to_results(self) -> None:
        """The keyboard to the list, its first row selected when none is."""
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)
        if not self.view.currentIndex().isValid() and self.model.rowCount():
            self.view.select_row(0)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _mode(self, mode: str) -> None:
        self.context_bar.set_mode(mode)
        self.controller.set_mode(mode)

    # ================================================================== library / settings
    def _scan_finished(self, report: Any, error: Any) -> None:
        self.library.set_scanning(False)
        if error:
            self.library.show_done(f"Scan failed: {error}")
            return
        text = f"{report.found} files · {report.analysed} analysed · {report.problems} problems"
        if report.embedded:
            text += f" · {report.embedded} embedded for search by sound"
        if report.interrupted:
            text += " · stopped (resumes next time)"
        self.library.show_done(text)

    def _library_info(self, stats: dict[str, Any], problems: list[dict[str, Any]]) -> None:
        self.library.show_stats(stats, problems)

    def open_settings(self) -> None:
        """The settings dialog (device list fetched on a worker first)."""

        def show(devices: list[Any]) -> None:
            dlg = SettingsDialog(
                self.controller.settings,
                devices,
                self,
                overridden=self.controller.store.overridden,
                models=self.controller.models,
            )
            self.settings_dialog = dlg
            if dlg.exec():
                settings = dlg.result_settings()
                self.controller.apply_settings(settings)
                self.library.set_folders(settings.folders)
                self.library.watch.setChecked(settings.watch_folders)
                self.context_bar.set_mode(settings.recommendation_mode)
            if self.controller.models.running:  # a download started in Settings: keep it in sight
                self.get_model()
            # the keyboard goes back to the list: shortcuts work without a click
            self.activateWindow()
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

        self.controller.audition.output_devices(show)

    def closeEvent(self, event: QCloseEvent) -> None:
        volume = self.volume.value() / 100.0
        if abs(volume - self.controller.settings.volume) > 1e-6:
            self.controller.edit_settings(volume=volume)  # the slider's last position, saved once
        geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        if geometry != self.controller.settings.window_geometry:
            self.controller.edit_settings(window_geometry=geometry)  # size and place, for next time
        self.controller.shutdown()
        super().closeEvent(event)
