"""Proving that what PolyBanking recorded is what PostFinance processed: comparing a report with
the database, the stored runs, the reports inbox, and the janitor that asks the platform about
payments whose outcome never arrived."""
