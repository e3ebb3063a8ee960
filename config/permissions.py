"""Staff group permissions granted by data migrations (each feature adds its own)."""


def grant_group_permissions(apps, app_label: str, groups: dict[str, list[str]]) -> None:
    """Give each named group the listed permissions of `app_label`, creating permissions first: during
    `migrate`, Django only creates them after all migrations have run."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in groups.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
