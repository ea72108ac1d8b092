"""Operations on a paid or authorised transaction: refunds, captures and cancellations, each a
row of its own created before the platform is asked, settled by the platform's later answer."""
