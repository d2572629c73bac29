"""Referrals and alerts: cases of confirmed and reviewed messages, reports (HTML, PDF, JSON, CSV)
that can be verified against the evidence store, and partner alerts (SMTP, signed webhooks).

Only messages confirmed by an analyst and a reviewer (`detector.review.referable_message_ids`)
ever leave the system, and every export or delivery is an AuditEvent.
"""
