"""The REST API (R8, R13, R14): DRF viewsets over the same service layer as the console."""
