from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db import DatabaseBackend

from jobs.services import requeue_abandoned


class Command(BaseCommand):
    help = (
        "Run the background jobs of the configured backend until stopped: the database's "
        "(db_worker) by default, or RQ's (rqworker) when DJANGO_TASKS_URL names a Redis "
        "server. Jobs a stopped worker left running are queued again first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", action="store_true", help="database backend: run what is queued, then exit"
        )

    def handle(self, batch, verbosity, **options):
        requeued = requeue_abandoned()
        if requeued:
            self.stdout.write(f"Queued again {requeued} abandoned job(s).")
        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        if isinstance(backend, DatabaseBackend):
            call_command(
                "db_worker",
                queue_name="*",
                batch=batch,
                reload=False,
                startup_delay=False,
                verbosity=verbosity,
            )
        elif type(backend).__name__ == "RQBackend":
            call_command(
                "rqworker",
                *sorted(backend.queues),
                job_class="django_tasks_rq.backend.Job",
                with_scheduler=True,  # retries wait their turn in RQ's scheduler
                burst=batch,
                verbosity=verbosity,
            )
        else:
            raise CommandError(f"{type(backend).__name__} runs jobs in place: no worker needed.")
