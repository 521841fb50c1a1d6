from kyc_service.bench.report import main

raise SystemExit(main())
