from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"

    def ready(self) -> None:
        from executions import checks  # noqa: F401  (registers system checks)
        from integr8scode import mongo

        mongo.connect()
