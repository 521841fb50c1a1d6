from kyc_service.cli import main

raise SystemExit(main())
