"""What the service knows: the categories it predicts and the municipalities it routes for."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import RoutingDep, TaxonomyDep
from service.schemas import CategoriesResponse, CategoryInfo, MunicipalitiesResponse, MunicipalityInfo

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/categories", response_model=CategoriesResponse)
async def categories(taxonomy: TaxonomyDep) -> CategoriesResponse:
    return CategoriesResponse(
        taxonomy_version=taxonomy.version,
        categories=[CategoryInfo(code=c.code, name=c.name, standard=c.standard)
                    for c in taxonomy.categories.values()],
    )


@router.get("/municipalities", response_model=MunicipalitiesResponse)
async def municipalities(routing: RoutingDep) -> MunicipalitiesResponse:
    return MunicipalitiesResponse(municipalities=[
        MunicipalityInfo(id=t.municipality, name=t.name, departments=len(t.departments))
        for t in routing.values()
    ])
