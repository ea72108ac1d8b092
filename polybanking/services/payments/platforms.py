"""Which platform a config pays through, built from the settings: the one place services choose."""

from ...models import Config
from ...platforms import Platform
from ...platforms.epayment.platform import EpaymentPlatform
from ...settings import Settings


def platform_for(settings: Settings, config: Config) -> Platform:
    """The platform of ``config``'s environment; SettingsError when that environment is not set."""
    env = settings.environment(config.test_mode)
    return EpaymentPlatform(
        url=env.url,
        pspid=env.pspid,
        sha_in=env.sha_in,
        algorithm=settings.hash_algorithm,
        userid=env.userid,
        password=env.password,
        maintenance_url=env.maintenance_url,
    )
