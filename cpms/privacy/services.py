from cpms.audit.chain import verify

from .models import ChainVerification


def chain_verify(*, triggered_by: str = "") -> ChainVerification:
    report = verify()
    return ChainVerification.objects.create(intact=report.intact, links=report.links, problems=report.problems[:200],
                                            triggered_by=triggered_by[:150])
