"""Takedown notices: per platform, in Chinese and English, as text and PDF, from templates.

    from alerts.notices import notice_for_alert, render_text, render_pdf
    ctx = notice_for_alert(catalog, "42")
    text = render_text(ctx, "douyin", "zh")

See docs/evidence.md ("Complaint notices") for the template names users can override.
"""

from __future__ import annotations

from alerts.notices.build import notice_for_alert
from alerts.notices.render import NoticeContext, NoticeError, render_pdf, render_text

__all__ = ["NoticeContext", "NoticeError", "notice_for_alert", "render_pdf", "render_text"]
