"""SSLCommerz v4 double: session init, hosted payment page, IPN, validation, query and refunds."""
