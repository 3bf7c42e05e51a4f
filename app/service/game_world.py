"""The game API for rooms, professions, containers and items, served through the router."""

from __future__ import annotations

from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Response

from app.service.game_models import (
    ContainerBody,
    ContainerPatch,
    ItemBody,
    ItemRef,
    NewContainer,
    NewItem,
    ProfessionBody,
    RoomBody,
)
from app.service.state import State
from persistence.models import Container, ItemInstance, Profession, Room

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["world"])
T = TypeVar("T")
OwnerType = Annotated[str, Query(pattern="^(none|player|room|container|npc)$")]


def found(value: T | None, what: str) -> T:
    """``value``, or 404 naming ``what``."""
    if value is None:
        raise HTTPException(404, f"no {what}")
    return value


@router.get("/rooms", response_model=list[RoomBody])
async def list_rooms(state: State) -> list[Room]:
    """Every room, by id."""
    rooms: list[Room] = await state.router().list_rooms()
    return rooms


@router.get("/rooms/{room_id}", response_model=RoomBody)
async def get_room(state: State, room_id: str) -> Room:
    """A room and its exits."""
    return found(await state.router().get_room_by_id(room_id), f"room {room_id!r}")


@router.get("/professions", response_model=list[ProfessionBody])
async def list_professions(state: State) -> list[Profession]:
    """The professions a player may take."""
    professions: list[Profession] = await state.router().get_professions()
    return professions


@router.get("/professions/{profession_id}", response_model=ProfessionBody)
async def get_profession(state: State, profession_id: int) -> Profession:
    """A profession by id."""
    profession = await state.router().get_profession_by_id(profession_id)
    return found(profession, f"profession {profession_id}")


@router.get("/rooms/{room_id}/containers", response_model=list[ContainerBody])
async def containers_in_room(state: State, room_id: str) -> list[Container]:
    """The containers in a room."""
    containers: list[Container] = await state.router().get_containers_by_room_id(room_id)
    return containers


@router.post("/containers", response_model=ContainerBody, status_code=201)
async def create_container(state: State, body: NewContainer) -> Container:
    """Create a container: in a room, worn by an entity, or a corpse."""
    fields = body.model_dump()
    container: Container = await state.router().create_container(
        fields.pop("source_type"), **fields
    )
    return container


@router.get("/containers/{container_id}", response_model=ContainerBody)
async def get_container(state: State, container_id: UUID) -> Container:
    """A container and its items."""
    container = await state.router().get_container(container_id)
    return found(container, f"container {container_id}")


@router.patch("/containers/{container_id}", response_model=ContainerBody)
async def update_container(state: State, container_id: UUID, body: ContainerPatch) -> Container:
    """Change a container's lock, capacity, decay time or metadata."""
    changes = body.model_dump(exclude_unset=True)
    container: Container = await state.router().update_container(container_id, **changes)
    return container


@router.delete("/containers/{container_id}", status_code=204)
async def delete_container(state: State, container_id: UUID) -> Response:
    """Delete a container."""
    await state.router().delete_container(container_id)
    return Response(status_code=204)


@router.post("/containers/{container_id}/items", response_model=ContainerBody)
async def put_item(state: State, container_id: UUID, body: ItemRef) -> Container:
    """Put an item instance in the container's next free slot."""
    router_ = state.router()
    container: Container = await router_.add_item_to_container(container_id, body.item_instance_id)
    return container


@router.delete("/containers/{container_id}/items/{item_instance_id}", response_model=ContainerBody)
async def take_item(state: State, container_id: UUID, item_instance_id: str) -> Container:
    """Take an item instance out of the container."""
    router_ = state.router()
    container: Container = await router_.remove_item_from_container(container_id, item_instance_id)
    return container


@router.get("/items", response_model=list[ItemBody])
async def items_of_owner(state: State, owner_type: OwnerType, owner_id: str) -> list[ItemInstance]:
    """The item instances an owner holds."""
    items: list[ItemInstance] = await state.router().list_item_instances_by_owner(
        owner_type, owner_id
    )
    return items


@router.post("/items", response_model=ItemBody, status_code=201)
async def create_item(state: State, body: NewItem) -> ItemInstance:
    """Create an item instance from a prototype."""
    fields = body.model_dump()
    item: ItemInstance = await state.router().create_item_instance(
        fields.pop("item_instance_id"), fields.pop("prototype_id"), **fields
    )
    return item


@router.get("/items/{item_instance_id}", response_model=ItemBody)
async def get_item(state: State, item_instance_id: str) -> ItemInstance:
    """An item instance."""
    item = await state.router().get_item_instance(item_instance_id)
    return found(item, f"item {item_instance_id!r}")


@router.delete("/items/{item_instance_id}", status_code=204)
async def delete_item(state: State, item_instance_id: str) -> Response:
    """Delete an item instance."""
    await state.router().delete_item_instance(item_instance_id)
    return Response(status_code=204)
