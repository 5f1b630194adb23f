"""What a run says about itself: report.json (counts, reasons, diversity) and report.html."""
