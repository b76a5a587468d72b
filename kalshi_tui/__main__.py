from kalshi_tui.cli import main

raise SystemExit(main())
