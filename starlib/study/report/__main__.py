"""``python -m starlib.study.report``: re-render the pages in docs/results/ (:func:`.report.main`)."""

from starlib.study.report.report import main

raise SystemExit(main())
