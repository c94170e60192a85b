"""Storage: tables, migrations, repositories, set-based SQL and bulk loading, on SQLite and PostgreSQL."""

# Importing the package registers every table on the shared metadata (migrations compare against all of them).
from canasta.adapters.db import access_log_tables as access_log_tables
from canasta.adapters.db import approval_tables as approval_tables
from canasta.adapters.db import auth_tables as auth_tables
from canasta.adapters.db import card_tables as card_tables
from canasta.adapters.db import citizen_tables as citizen_tables
from canasta.adapters.db import eligibility_tables as eligibility_tables
from canasta.adapters.db import ledger_tables as ledger_tables
from canasta.adapters.db import offline_tables as offline_tables
from canasta.adapters.db import redemption_tables as redemption_tables
