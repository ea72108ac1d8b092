"""The payment platforms PolyBanking speaks: pure protocol code, no Pyramid, no database."""
