import { createRoute, z } from '@hono/zod-openapi'
import {
  createOrganization,
  deleteOrganization,
  listOrganizations,
  ORGANIZATION_LIST,
  type Organization,
  readOrganization,
  renameOrganization,
} from '../../domain/organizations'
import { principalOf } from '../../http/authenticate'
import { PublicId } from '../../http/openapi'
import { jsonApiListQuery, jsonApiShowQuery } from '../../http/query'
import { createRouter } from '../../http/router'
import {
  CollectionSchema,
  collection,
  documentResponse,
  errorsFor,
  headers,
  jsonApiRoute,
  type Presented,
  readOnly,
  requestDocument,
  SingleSchema,
  single,
} from './document'
import { JSON_API } from './render'

const TYPE = 'iam:organizations'
const listQuery = jsonApiListQuery(TYPE, ORGANIZATION_LIST)
const showQuery = jsonApiShowQuery(TYPE)

const Attributes = z.object({
  name: z.string(),
  created_at: z.string().openapi({ format: 'date-time' }),
  updated_at: z.string().openapi({ format: 'date-time' }),
})

const present = (o: Organization): Presented => ({
  id: o.publicId,
  attributes: { name: o.name, created_at: o.createdAt.toISOString(), updated_at: o.updatedAt.toISOString() },
})

const EXAMPLE = {
  type: TYPE,
  id: 'F6G7H8I9J0',
  attributes: { name: 'Acme', created_at: '2026-11-23T10:00:00.000Z', updated_at: '2026-11-23T10:00:00.000Z' },
}
const Single = SingleSchema('OrganizationDocument', TYPE, Attributes)
const id = z.object({ id: PublicId('must be an organization id like F6G7H8I9J0') })
const Body = requestDocument(
  TYPE,
  { name: z.string().max(200), id: readOnly, created_at: readOnly, updated_at: readOnly },
  { name: 'Acme' },
)

export const organizations = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/organizations',
      ...jsonApiRoute({
        tag: 'Organizations',
        operationId: 'listOrganizations',
        summary: 'Return a paginated list of iam:organizations',
        description: 'Root sees every organization; anyone else the organization of their current workspace.',
      }),
      request: { query: listQuery.schema, headers },
      responses: {
        200: documentResponse(CollectionSchema('OrganizationCollection', TYPE, Attributes), 'Organizations', {
          data: [EXAMPLE],
          meta: {},
          links: {
            self: 'https://iam.example.com/organizations',
            first: 'https://iam.example.com/organizations?page[number]=1&page[size]=1000',
          },
        }),
        ...errorsFor(false),
      },
    }),
    async (c) => {
      const q = listQuery.parse(c.req.queries())
      const page = await listOrganizations(c.var.deps, principalOf(c), q)
      return c.json(collection(c.req.url, TYPE, page, q, present), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/organizations',
      ...jsonApiRoute({
        tag: 'Organizations',
        operationId: 'createOrganization',
        summary: 'Create a new iam:organizations',
        description:
          'Root only: a new organization with its first workspace (`meta.first_workspace_id`). Then POST /accounts as root, with the `account` header naming that workspace, invites its first ADMIN.',
      }),
      request: { headers, body: Body },
      responses: {
        201: documentResponse(
          SingleSchema('NewOrganization', TYPE, Attributes, z.object({ first_workspace_id: z.number().int() })),
          'The organization, and its first workspace',
          { data: EXAMPLE, meta: { first_workspace_id: 1000001 } },
        ),
        ...errorsFor(false, 403, 422),
      },
    }),
    async (c) => {
      const name = c.req.valid('json').data.attributes.name
      const { organization, workspaceId } = await createOrganization(c.var.deps, principalOf(c), { name })
      // Root names this workspace in the `account` header to invite the first ADMIN.
      const meta = { first_workspace_id: workspaceId }
      return c.json(single(TYPE, present(organization), {}, meta), 201, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/organizations/{id}',
      ...jsonApiRoute({
        tag: 'Organizations',
        operationId: 'showOrganization',
        summary: 'Show a specific iam:organizations',
        description: 'One the caller may see; anything else is a 404.',
      }),
      request: { params: id, query: showQuery.schema, headers },
      responses: { 200: documentResponse(Single, 'The organization', { data: EXAMPLE }), ...errorsFor(false, 404) },
    }),
    async (c) => {
      const { fields } = showQuery.parse(c.req.queries())
      const org = await readOrganization(c.var.deps, principalOf(c), c.req.valid('param').id)
      return c.json(single(TYPE, present(org), fields), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/organizations/{id}',
      ...jsonApiRoute({
        tag: 'Organizations',
        operationId: 'updateOrganization',
        summary: 'Update a iam:organizations',
        description: 'Root, or an ADMIN of a workspace of the organization: its name.',
      }),
      request: { params: id, headers, body: Body },
      responses: {
        200: documentResponse(Single, 'The organization', { data: EXAMPLE }),
        ...errorsFor(false, 403, 404, 422),
      },
    }),
    async (c) => {
      const org = await renameOrganization(c.var.deps, principalOf(c), c.req.valid('param').id, {
        name: c.req.valid('json').data.attributes.name,
      })
      return c.json(single(TYPE, present(org)), 200, { 'Content-Type': JSON_API })
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/organizations/{id}',
      ...jsonApiRoute({
        tag: 'Organizations',
        operationId: 'deleteOrganization',
        summary: 'Delete the iam:organizations',
        description: 'Root, or an ADMIN of it; 409 while it still has members.',
      }),
      request: { params: id, headers },
      responses: { 204: { description: 'Deleted' }, ...errorsFor(false, 403, 404, 409) },
    }),
    async (c) => {
      await deleteOrganization(c.var.deps, principalOf(c), c.req.valid('param').id)
      return c.body(null, 204)
    },
  )
