"""The app's look: a calm dark theme like DAW browsers (Fusion style, one palette, one sheet).

Colours are few and muted: neutral greys for surfaces, one warm accent (amber) for what is
active (selection, play, pinned), and quiet hues for the badges (source, kind) so the eye goes
to names and waveforms first.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

# Surfaces, darkest to lightest.
BG = "#17191d"
PANEL = "#1e2126"
CARD = "#24282e"
CARD_HOVER = "#2a2f36"
CARD_SELECTED = "#313742"
BORDER = "#2f343c"
# Text.
TEXT = "#e4e6ea"
TEXT_DIM = "#9aa1ab"
TEXT_FAINT = "#6b727c"
# Accents.
ACCENT = "#e0a54a"  # amber: selection edge, play, pinned
ACCENT_DIM = "#8a6a36"
WAVE = "#86a9cc"
WAVE_SELECTED = "#b5cde6"
OK = "#5fb88a"
ERROR = "#d9605a"
# Badges.
SOURCE_COLOURS = {"clap": "#9a82d6", "fingerprint": "#4fae9f", "recency": "#7d8590", "search": "#6f93c4"}
KIND_COLOURS = {"loop": "#5b8fc7", "one-shot": "#b98658"}

STYLESHEET = f"""
QWidget {{ color: {TEXT}; }}
QMainWindow, QDialog {{ background: {BG}; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; padding: 6px; }}
#ContextBar, #LibraryPanel, #Inspector {{ background: {PANEL}; }}
#ContextBar {{ border-bottom: 1px solid {BORDER}; }}
#LibraryPanel {{ border-right: 1px solid {BORDER}; }}
#Inspector {{ border-top: 1px solid {BORDER}; }}
#FieldLabel {{ color: {TEXT_FAINT}; font-size: 8pt; letter-spacing: 1px; }}
#SectionTitle {{ color: {TEXT_DIM}; font-size: 8pt; font-weight: 600; letter-spacing: 1px; }}
#Dim {{ color: {TEXT_DIM}; }}
#Faint {{ color: {TEXT_FAINT}; }}
#ListHeader {{ color: {TEXT_DIM}; padding: 2px 4px; }}
#InspectorTitle {{ font-size: 12pt; font-weight: 600; }}
QLineEdit, QDoubleSpinBox, QSpinBox, QComboBox {{
    background: {BG}; border: 1px solid {BORDER}; border-radius: 4px; padding: 4px 6px;
    selection-background-color: {ACCENT_DIM};
}}
QLineEdit:focus, QDoubleSpinBox:focus, QSpinBox:focus, QComboBox:focus {{ border-color: {ACCENT_DIM}; }}
QComboBox QAbstractItemView {{ background: {PANEL}; border: 1px solid {BORDER}; selection-background-color: {CARD_SELECTED}; }}
QPushButton, QToolButton {{
    background: {CARD}; border: 1px solid {BORDER}; border-radius: 4px; padding: 5px 12px;
}}
QPushButton:hover, QToolButton:hover {{ background: {CARD_HOVER}; }}
QPushButton:pressed, QToolButton:pressed {{ background: {CARD_SELECTED}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {TEXT_FAINT}; }}
QPushButton#Primary {{ background: {ACCENT_DIM}; border-color: {ACCENT}; color: #fff; }}
QPushButton#Primary:hover {{ background: {ACCENT}; color: {BG}; }}
QToolButton#Segment {{ border-radius: 0; padding: 4px 12px; }}
QToolButton#Segment:checked {{ background: {CARD_SELECTED}; color: {ACCENT}; border-color: {ACCENT_DIM}; }}
QListView, QListWidget, QTreeWidget {{
    background: {BG}; border: none; outline: none;
}}
QListWidget::item, QTreeWidget::item {{ padding: 4px; }}
QListWidget::item:selected, QTreeWidget::item:selected {{ background: {CARD_SELECTED}; color: {TEXT}; }}
QHeaderView::section {{ background: {PANEL}; color: {TEXT_DIM}; border: none; padding: 4px; }}
QProgressBar {{
    background: {BG}; border: 1px solid {BORDER}; border-radius: 3px; height: 6px; text-align: center;
    color: transparent;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT_DIM}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {TEXT_DIM}; width: 12px; margin: -5px 0; border-radius: 6px; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {BORDER}; border-radius: 4px; min-height: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
QStatusBar {{ background: {PANEL}; color: {TEXT_DIM}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ color: {TEXT_DIM}; padding: 0 8px; }}
QSplitter::handle {{ background: {BORDER}; }}
QCheckBox {{ spacing: 8px; }}
QCheckBox::indicator {{ width: 13px; height: 13px; border: 1px solid {TEXT_FAINT}; border-radius: 3px; background: {BG}; }}
QCheckBox::indicator:hover {{ border-color: {TEXT_DIM}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; }}
QCheckBox::indicator:disabled {{ border-color: {BORDER}; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ background: {PANEL}; color: {TEXT_DIM}; padding: 6px 14px; border: none; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QMenu::item:selected {{ background: {CARD_SELECTED}; }}
"""


def palette() -> QPalette:
    """The dark palette (for widgets the style sheet does not reach)."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: BG,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BG,
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: CARD,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: CARD_SELECTED,
        QPalette.ColorRole.HighlightedText: TEXT,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: TEXT_FAINT,
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(TEXT_FAINT))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(TEXT_FAINT))
    return p


def apply_theme(app: QApplication) -> None:
    """Fusion style, the dark palette, the style sheet and a readable base font."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
