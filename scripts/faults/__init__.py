"""The fault suite (`make faults`, docs/faults.md): CPMS on a real stack of its own, under traffic and faults.

    stack.py         the processes: a throwaway PostgreSQL cluster, Redis, gunicorn, Celery worker and beat, the simulator
    gunicorn_conf.py gunicorn hooks that record every answer CPMS gives (status and time), for the 5xx column
    traffic.py       the clients: officers over the REST API, partners through the simulator, ICTS and privacy users
    chaos.py         the faults, interleaved with the traffic, and their log
    ledger.py        the columns, computed from CPMS's database and the simulator's state, and the table
    driver.py        puts it together; `scripts/faults.py` is its command line
"""
