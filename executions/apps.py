from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"

    def ready(self) -> None:
        # Registering the system checks is all: the store is connected on first use
        # (documents.StoredDocument), the dispatcher started by the processes that serve or
        # execute (integr8scode.serve, manage.py executor).
        from executions import checks  # noqa: F401
